"""Scripted experts for the kitchen, at the skill level and at the move level.

The skill expert assigns each chef the most useful skill given what every
chef holds and what the pots need, with claims so that two chefs never chase
the same need: serve soups, fill dishes from ready (then cooking) pots, start
complete pots, bring the missing ingredients of the best order reachable from
each pot's contents. Chefs that cannot reach a pot, a dish or a serving window
pass items over counters shared with a chef who can (Forced Coordination).

The move expert takes the skill expert's plan and returns each chef's next
move along the executor's collision-free paths, for ReAd's low-level setting.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.recipes import Recipe, recipe_of
from brigade.envs.kitchen.skills import Skill, SkillBook
from brigade.envs.kitchen.state import KitchenState, Position, Soup, item_name


def _ready(mdp: KitchenMDP, soup: Soup | None) -> bool:
    return soup is not None and mdp.soup_is_ready(soup)


def _cooking(mdp: KitchenMDP, soup: Soup | None) -> bool:
    return soup is not None and mdp.soup_is_cooking(soup)


@dataclass
class _Claims:
    ingredients: Counter[tuple[int, str]]  # (pot index, ingredient) -> slots taken
    dish_for: set[int]
    start: set[int]
    supply: Counter[str]  # items being passed over counters
    undecided: set[int]  # empty-handed chefs that have not chosen yet
    counter_picks: set[Position] = field(default_factory=set)  # counters someone empties


class KitchenExpert:
    """A greedy, coordinated expert that picks one skill per chef."""

    #: A soup this close to ready (ticks) gets its dish before other pots get ingredients.
    SOON = 12

    def __init__(self, mdp: KitchenMDP, book: SkillBook | None = None):
        self.mdp = mdp
        self.book = book or SkillBook(mdp)
        self.planner = self.book.planner
        self._available_cache: dict[tuple[frozenset[Position], ...], frozenset[str]] = {}

    def _available(self, state: KitchenState) -> frozenset[str]:
        """Ingredients some chef can fetch from a dispenser (chefs never change region)."""
        regions = tuple(self.planner.region(c.position) for c in state.chefs)
        found = self._available_cache.get(regions)
        if found is None:
            found = frozenset(
                name
                for name, cells in (
                    ("onion", self.mdp.onion_dispensers),
                    ("tomato", self.mdp.tomato_dispensers),
                )
                if any(self.planner.can_reach(c.position, d) for c in state.chefs for d in cells)
            )
            self._available_cache[regions] = found
        return found

    # ------------------------------------------------------------------ targets

    def target_recipe(self, state: KitchenState, soup: Soup | None) -> Recipe | None:
        """The best order that can still be made from a pot's contents (``None``: none pays)."""
        have = recipe_of(soup.ingredients) if soup is not None else (0, 0)
        available = self._available(state)
        best: tuple[float, int, float] | None = None
        choice = None
        for recipe in state.orders.all:
            if recipe[0] < have[0] or recipe[1] < have[1]:
                continue
            need = {"onion": recipe[0] - have[0], "tomato": recipe[1] - have[1]}
            if any(count and ing not in available for ing, count in need.items()):
                continue
            value = state.orders.delivery_value[recipe]
            if value <= 0:
                continue
            key = (value, -(recipe[0] + recipe[1]), -self.mdp.recipes.time(recipe))
            if best is None or key > best:
                best, choice = key, recipe
        return choice

    def _missing(self, state: KitchenState, k: int) -> dict[str, int]:
        soup = state.pots[k]
        if soup is not None and soup.cooking_tick >= 0:
            return {}
        target = self.target_recipe(state, soup)
        have = recipe_of(soup.ingredients) if soup is not None else (0, 0)
        if target is None:
            return {}
        return {"onion": target[0] - have[0], "tomato": target[1] - have[1]}

    def _reach(self, state: KitchenState, chef: int, cell: Position) -> bool:
        return self.planner.can_reach(state.chefs[chef].position, cell)

    def _dist(self, state: KitchenState, chef: int, cell: Position) -> int:
        c = state.chefs[chef]
        d = self.planner.static_distance((c.position, c.orientation), cell)
        return 10**6 if d is None else d

    def _anyone_else_reaches(self, state: KitchenState, chef: int, cells: list[Position]) -> bool:
        return any(
            self._reach(state, j, cell)
            for j in range(len(state.chefs))
            if j != chef
            for cell in cells
        )

    def _handoff_counter(
        self,
        state: KitchenState,
        chef: int,
        destinations: list[Position],
        *,
        supply: bool = False,
    ) -> Position | None:
        """The best empty counter shared by ``chef`` and a chef who reaches a destination.

        With ``supply`` (ingredients and dishes sent ahead), one shared counter is
        kept free when there are several, so soups can always be passed back.
        """
        helpers = [
            j
            for j in range(len(state.chefs))
            if j != chef and any(self._reach(state, j, d) for d in destinations)
        ]
        shared = [
            cell
            for cell in self.mdp.counter_positions
            if self._reach(state, chef, cell) and any(self._reach(state, j, cell) for j in helpers)
        ]
        if supply and len(shared) >= 2 and sum(c not in state.counters for c in shared) <= 1:
            return None
        best = None
        mine = self._dist
        for cell in shared:
            if cell in state.counters:
                continue
            # Both chefs walk to the counter at once; then the helper carries the item on.
            for j in helpers:
                if not self._reach(state, j, cell):
                    continue
                onward = self._onward(state, j, cell, destinations)
                cost = max(mine(state, chef, cell), mine(state, j, cell)) + onward
                if best is None or cost < best[0]:
                    best = (cost, cell)
        return None if best is None else best[1]

    def _onward(
        self, state: KitchenState, j: int, cell: Position, destinations: list[Position]
    ) -> int:
        """Moves for chef ``j`` from taking an item off ``cell`` to facing a destination."""
        region = self.planner.region(state.chefs[j].position)
        best = 10**6
        for pose in self.planner.interact_poses(cell):
            if pose[0] not in region:
                continue
            for dest in destinations:
                d = self.planner.static_distance(pose, dest)
                if d is not None and d < best:
                    best = d
        return best

    def _in_transit(self, state: KitchenState, item: str, chef: int) -> int:
        """Items of a kind held by chefs who cannot use them or lying on shared counters."""
        count = sum(1 for i in state.counters.values() if item_name(i) == item)
        for j, c in enumerate(state.chefs):
            if j != chef and item_name(c.held) == item:
                count += 1
        return count

    # ------------------------------------------------------------------ planning

    def plan(self, state: KitchenState) -> list[Skill]:
        """One skill per chef."""
        n = len(state.chefs)
        free = {i for i in range(n) if state.chefs[i].held is None}
        claims = _Claims(Counter(), set(), set(), Counter(), free)
        plan: list[Skill | None] = [None] * n
        # Chefs with something in hand decide first: their options are narrow.
        order = sorted(range(n), key=lambda i: state.chefs[i].held is None)
        for i in order:
            claims.undecided.discard(i)
            plan[i] = self._decide(state, i, claims)
        return [p if p is not None else Skill("WAIT") for p in plan]

    def solo_choice(self, state: KitchenState, i: int) -> Skill:
        """What chef ``i`` would do if it ignored what its partners are doing.

        The simulated LLM uses it for the classic mistake of chefs that chase the
        same need (both fetch the onion the pot needs).
        """
        free = {i} if state.chefs[i].held is None else set()
        return self._decide(state, i, _Claims(Counter(), set(), set(), Counter(), free))

    def _decide(self, state: KitchenState, i: int, claims: _Claims) -> Skill:
        held = item_name(state.chefs[i].held)
        mdp = self.mdp
        pots = list(enumerate(mdp.pot_positions))
        if held == "soup":
            if any(self._reach(state, i, s) for s in mdp.serving_positions):
                return Skill("SERVE")
            return self._pass(state, i, list(mdp.serving_positions))
        if held == "dish":
            options = []
            for k, cell in pots:
                soup = state.pots[k]
                if soup is None or soup.cooking_tick < 0 or k in claims.dish_for:
                    continue
                if self._reach(state, i, cell):
                    left = mdp.soup_time(soup) - soup.cooking_tick
                    options.append((max(left, 0), self._dist(state, i, cell), k, cell))
            if options:
                _, _, k, cell = min(options)
                claims.dish_for.add(k)
                return Skill("FILL", cell=cell)
            elsewhere = [
                cell
                for k, cell in pots
                if state.pots[k] is not None
                and state.pots[k].cooking_tick >= 0  # type: ignore[union-attr]
                and not self._reach(state, i, cell)
            ]
            if elsewhere:
                return self._pass(state, i, elsewhere)
            reachable = [cell for _, cell in pots if self._reach(state, i, cell)]
            if reachable:
                return Skill("WAIT")
            return self._pass(state, i, [cell for _, cell in pots])
        if held in ("onion", "tomato"):
            options = []
            for k, cell in pots:
                need = self._missing(state, k).get(held, 0) - claims.ingredients[(k, held)]
                if need > 0 and self._reach(state, i, cell):
                    soup = state.pots[k]
                    filled = len(soup.ingredients) if soup is not None else 0
                    options.append((-filled, self._dist(state, i, cell), k, cell))
            if options:
                _, _, k, cell = min(options)
                claims.ingredients[(k, held)] += 1
                return Skill("PUT", cell=cell)
            needy = [cell for k, cell in pots if self._missing(state, k).get(held, 0) > 0]
            if needy and not any(self._reach(state, i, c) for c in needy):
                return self._pass(state, i, needy)
            return Skill("PLACE")  # nothing needs it now: put it down out of the way
        return self._decide_empty(state, i, claims)

    def _supply_ingredient(
        self,
        state: KitchenState,
        i: int,
        claims: _Claims,
        pots: list[tuple[int, Position]],
        unreachable: list[tuple[int, Position]],
    ) -> Skill | None:
        """Fetch an ingredient that ``pots`` miss and that is not already on its way."""
        for ing in ("onion", "tomato"):
            need = sum(self._missing(state, k).get(ing, 0) for k, _ in pots)
            if need <= 0:
                continue
            # Items already passed over serve the pots under way first.
            need -= self._in_transit(state, ing, i) + claims.supply[ing]
            if pots is not unreachable and any(state.pots[k] is None for k, _ in pots):
                need -= sum(
                    self._missing(state, k).get(ing, 0)
                    for k, _ in unreachable
                    if state.pots[k] is not None
                )
            if need > 0 and self._can_pick(state, i, ing, dispenser_only=True):
                if self._handoff_counter(state, i, [c for _, c in unreachable], supply=True):
                    claims.supply[ing] += 1
                    return Skill("PICK", item=ing, dispenser_only=True)
        return None

    def _about_to_cook(self, state: KitchenState, k: int, claims: _Claims) -> bool:
        """Pot ``k`` is idle, its missing ingredients are being brought, and it cooks quickly."""
        soup = state.pots[k]
        if soup is not None and soup.cooking_tick >= 0:
            return False
        target = self.target_recipe(state, soup)
        if target is None or self.mdp.recipes.time(target) > self.SOON:
            return False
        missing = self._missing(state, k)
        brought = sum(claims.ingredients[(k, ing)] for ing in ("onion", "tomato"))
        return brought > 0 and all(
            count - claims.ingredients[(k, ing)] <= 0 for ing, count in missing.items()
        )

    def _will_cook(self, state: KitchenState, k: int, chef: int) -> bool:
        """Pot ``k`` is cooking or ready, or its missing ingredients are on their way."""
        soup = state.pots[k]
        if soup is not None and soup.cooking_tick >= 0:
            return True
        if soup is None or not soup.ingredients:
            return False
        missing = self._missing(state, k)
        return all(count <= self._in_transit(state, ing, chef) for ing, count in missing.items())

    def _pass(self, state: KitchenState, i: int, destinations: list[Position]) -> Skill:
        cell = self._handoff_counter(state, i, destinations)
        return Skill("PLACE", cell=cell) if cell is not None else Skill("WAIT")

    def _can_pick(
        self, state: KitchenState, i: int, item: str, *, dispenser_only: bool = False
    ) -> bool:
        skill = Skill("PICK", item=item, dispenser_only=dispenser_only)
        return bool(self.book.reachable_targets(state, i, skill))

    def _decide_empty(self, state: KitchenState, i: int, claims: _Claims) -> Skill:
        mdp = self.mdp
        pots = list(enumerate(mdp.pot_positions))
        n = len(state.chefs)
        dishes_held = sum(1 for c in state.chefs if item_name(c.held) == "dish")
        # Soups on counters that I can serve.
        for cell, item in state.counters.items():
            if (
                item_name(item) == "soup"
                and cell not in claims.counter_picks
                and any(self._reach(state, i, s) for s in mdp.serving_positions)
            ):
                if self._reach(state, i, cell):
                    claims.counter_picks.add(cell)
                    return Skill("PICK", item="soup", cell=cell)
        ready = [(k, c) for k, c in pots if _ready(mdp, state.pots[k])]
        cooking = [(k, c) for k, c in pots if _cooking(mdp, state.pots[k])]
        dishes_needed = len(ready) + len(cooking) - dishes_held - len(claims.dish_for)
        # 1. a dish for a ready soup I can reach.
        for k, cell in ready:
            if k not in claims.dish_for and dishes_needed > 0 and self._reach(state, i, cell):
                if self._can_pick(state, i, "dish"):
                    claims.dish_for.add(k)
                    return Skill("PICK", item="dish")
        # 2. start a complete pot.
        for k, cell in pots:
            soup = state.pots[k]
            if soup is None or soup.cooking_tick >= 0 or not soup.ingredients or k in claims.start:
                continue
            missing = self._missing(state, k)
            complete = not any(missing.values()) or len(soup.ingredients) == mdp.max_ingredients
            mine = self._dist(state, i, cell)
            closer = any(
                self._reach(state, j, cell) and self._dist(state, j, cell) < mine
                for j in claims.undecided
            )
            if complete and not closer and self._reach(state, i, cell):
                claims.start.add(k)
                return Skill("START", cell=cell)
        # 3. a dish for a soup that will soon be ready: cooking and close to done, or
        #    quick to cook with its last ingredients already in other chefs' hands.
        for k, cell in pots:
            soup = state.pots[k]
            if _cooking(mdp, soup):
                assert soup is not None
                soon = mdp.soup_time(soup) - soup.cooking_tick <= self.SOON
                needed = dishes_needed > 0
            else:
                soon = self._about_to_cook(state, k, claims)
                needed = True
            if soon and needed and k not in claims.dish_for and self._reach(state, i, cell):
                if self._can_pick(state, i, "dish"):
                    claims.dish_for.add(k)
                    return Skill("PICK", item="dish")
        # 4. fetch a missing ingredient for a pot I can reach.
        options = []
        for k, cell in pots:
            if not self._reach(state, i, cell):
                continue
            soup = state.pots[k]
            filled = len(soup.ingredients) if soup is not None else 0
            for ing, count in self._missing(state, k).items():
                if count - claims.ingredients[(k, ing)] > 0 and self._can_pick(state, i, ing):
                    options.append((-filled, k, ing))
        if options:
            _, k, ing = min(options)
            claims.ingredients[(k, ing)] += 1
            return Skill("PICK", item=ing)
        # 5. a dish for a cooking soup I can reach.
        for k, cell in cooking:
            if k not in claims.dish_for and dishes_needed > 0 and self._reach(state, i, cell):
                if self._can_pick(state, i, "dish"):
                    claims.dish_for.add(k)
                    return Skill("PICK", item="dish")
        # 6. supply chefs on the other side of a counter: ingredients for pots under way,
        #    dishes for soups that cook (or will, once the ingredients on their way arrive),
        #    then ingredients for empty pots.
        unreachable = [(k, c) for k, c in pots if not self._reach(state, i, c)]
        if unreachable and n > 1:
            started = [(k, c) for k, c in unreachable if state.pots[k] is not None]
            empty = [(k, c) for k, c in unreachable if state.pots[k] is None]
            skill = self._supply_ingredient(state, i, claims, started, unreachable)
            if skill is not None:
                return skill
            cook = [(k, c) for k, c in unreachable if self._will_cook(state, k, i)]
            dishes = len(cook) - self._in_transit(state, "dish", i) - claims.supply["dish"]
            if dishes > 0 and self._can_pick(state, i, "dish", dispenser_only=True):
                if self._handoff_counter(state, i, [c for _, c in cook], supply=True) is not None:
                    claims.supply["dish"] += 1
                    return Skill("PICK", item="dish", dispenser_only=True)
            skill = self._supply_ingredient(state, i, claims, empty, unreachable)
            if skill is not None:
                return skill
        return Skill("WAIT")

    # ------------------------------------------------------------------ moves

    def moves(self, state: KitchenState) -> list[int]:
        """Each chef's next move (ReAd's low-level setting), following :meth:`plan`."""
        from brigade.envs.kitchen.executor import choose_moves

        plan = self.plan(state)
        skills = [None if s.verb == "WAIT" else s for s in plan]
        return [c.action for c in choose_moves(self.mdp, self.book, state, skills)]


def soups_served(mdp: KitchenMDP, moves: int = 400) -> int:
    """Soups the move-level expert serves in ``moves`` moves from the standard start."""
    expert = KitchenExpert(mdp)
    state = mdp.initial_state()
    served = 0
    for _ in range(moves):
        state, info = mdp.transition(state, expert.moves(state))
        served += sum(1 for event, _ in info["events"] if event == "soup_delivery")
    return served
