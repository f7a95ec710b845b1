"""Every prompt text, one versioned :class:`~brigade.agents.prompts.Template` each.

Environment templates explain a world and its action vocabulary; planner
templates give the role and the answer format. Bump a template's version when
its meaning changes (the tag's hash changes with any edit anyway).
"""

from __future__ import annotations

from brigade.agents.prompts import Template

# -----------------------------------------------------------------------------
# environments and answer formats

KITCHEN_SKILLS = Template(
    "kitchen-skills-rules",
    1,
    """You coordinate the chefs of an Overcooked kitchen: they cook soups and serve them for a reward.
How the kitchen works:
- A chef carries one item at a time. Onions, tomatoes and dishes come from dispensers (O, T, D); any item can be put down on a counter (X) and taken from it again.
- Ingredients go into a pot (P). An empty-handed chef starts a pot cooking; when the soup is ready, a chef holding a dish fills it with the soup and serves it at a serving window (S). Only soups that match an order pay.
- Some chefs cannot reach every part of the kitchen; they pass items over a counter.
Each step, every chef gets one action; chefs walk to their targets by themselves, and the step lasts until the first chef finishes its action:
- PICK onion|tomato|dish|soup: take one from the nearest dispenser or counter; add counter(x,y) to take it from that counter, or dispenser to take it from a dispenser.
- PUT potN: put the held onion or tomato into a pot.
- START potN: start cooking a pot (hands empty).
- FILL potN: with a dish, take the pot's soup (waits at the pot while the soup finishes cooking).
- SERVE: deliver the held soup at a serving window.
- PLACE counter(x,y): put the held item on that counter (PLACE alone: the nearest empty one).
- WAIT: do nothing until another chef finishes or a pot changes.""",
)


KITCHEN_MOVES = Template(
    "kitchen-moves-rules",
    1,
    """You coordinate the chefs of an Overcooked kitchen: they cook soups and serve them for a reward.
How the kitchen works:
- A chef carries one item at a time. Onions and dishes come from dispensers (O, D); items can be put down on counters (X) and taken from them again.
- Ingredients go into a pot (P); when the pot holds enough, an empty-handed chef starts it cooking; when the soup is ready, a chef holding a dish takes it and serves it at a serving window (S).
Each step, every chef makes one move:
- MOVE north|south|east|west: step one cell (y grows to the south). Moving into a counter, a dispenser or another chef only turns the chef to face it.
- INTERACT: act on the cell the chef faces: take from a dispenser, put down or pick up on a counter, add an ingredient to a pot, start an idle pot (hands empty), take a ready soup with a dish, serve at a window.
- WAIT: stay.""",
)


GENERIC_RULES = Template(
    "generic-rules",
    1,
    """You coordinate a team of agents that share one task.
The description below says what each agent can do now; choose one action per agent.""",
)


JOINT_FORMAT = Template(
    "joint-format",
    1,
    """Answer format: think in a few short sentences, then write EXECUTE on its own line, then exactly one line per agent:
NAME <agent> ACTION <action>
The agents are {agents}. Use only actions that are possible now.""",
)


TURN_FORMAT = Template(
    "turn-format",
    1,
    """You are {agent}. Say in a sentence or two what you will do and why, then write PROCEED on its own line, then your own action:
NAME {agent} ACTION <action>""",
)


FINAL_FORMAT = Template(
    "final-format",
    1,
    """You are {agent}, the last to speak. Settle the team's plan: a sentence or two, then write EXECUTE on its own line, then exactly one line per agent ({agents}):
NAME <agent> ACTION <action>""",
)


REASK = Template(
    "reask",
    1,
    """Your answer could not be read: {reason}.
Answer again in the required format.""",
)


REPLAN = Template(
    "replan",
    1,
    """Your plan cannot be executed:
{problems}
Change the plan so that every action is possible, and answer again in the required format.""",
)


# -----------------------------------------------------------------------------
# Central Plan

CENTRAL_ROLE = Template(
    "central-role",
    1,
    """You are the central planner of the team. Every step you decide one action for every agent at once, so that they work together and finish the task in as few steps as possible.""",
)


# -----------------------------------------------------------------------------
# ReAct

REACT_ROLE = Template(
    "react-role",
    1,
    """You plan for the whole team by reasoning and acting in turns. Each turn, start with "Thought:" and reason about the state and the past observations, then give the joint action. After each step you receive an Observation of what happened.""",
)


# -----------------------------------------------------------------------------
# Reflexion

REFLECT = Template(
    "reflexion-reflect",
    1,
    """The last step did not go as planned.
Your plan: {plan}
What happened: {result}
In one or two sentences, say what went wrong and what the team should do differently. Do not give actions.""",
)


# -----------------------------------------------------------------------------
# MindAgent

MINDAGENT_ROLE = Template(
    "mindagent-role",
    1,
    """You are the coordinator of a team of agents. You dispatch tasks: look at what each agent holds and where it is, what the team still needs, and what each agent reported last time; then give every agent its own task, so that no two agents duplicate work and nobody stands idle without reason.""",
)


# -----------------------------------------------------------------------------
# RoCo

ROCO_ROLE = Template(
    "roco-role",
    1,
    """You are {agent}, one agent of a team that plans together by talking. Each step the team discusses, then the last speaker settles one action per agent. You see your own view of the state.""",
)


# -----------------------------------------------------------------------------
# ReAd (ReAd-J: the joint plan at once; ReAd-S: one agent at a time)

READ_J_ROLE = Template(
    "read-j-role",
    1,
    """You are the central planner of the team. Every step you decide one action for every agent at once. A critic scores each plan by its advantage: how much it is expected to raise the team's return compared with what the team would otherwise do. Plans whose score is too low are sent back to you with the score.""",
)


READ_S_ROLE = Template(
    "read-s-role",
    1,
    """You are {agent}, one agent of a team. Every step the agents choose their actions one after another, each knowing the actions chosen before it. A critic scores your action by its advantage: how much it raises the team's expected return given the actions already chosen. Actions whose score is too low are sent back to you with the score.""",
)


READ_J_FEEDBACK = Template(
    "read-j-feedback",
    1,
    """The advantage score of this plan is {score}! The score is low and the plan needs to be changed: you must change your plan to raise the advantage score over {threshold}. Answer again in the required format.""",
)


READ_S_FEEDBACK = Template(
    "read-s-feedback",
    1,
    """The advantage score of {agent}'s action is {score}! The score is low and the action needs to be changed: you must change your action to raise the advantage score over {threshold}. Answer again in the required format.""",
)


# -----------------------------------------------------------------------------
# choosing an environment's rules

_RULES: dict[str, Template] = {"kitchen": KITCHEN_SKILLS, "kitchen-read": KITCHEN_MOVES}


def register_rules(family: str, template: Template) -> None:
    """Use ``template`` as the rules of every environment id of ``family`` (``table``...)."""
    _RULES[family] = template


def rules_for(env_id: str) -> Template:
    """The rules template of an environment id (``kitchen/cramped_room-v0`` -> kitchen)."""
    family = env_id.split("/", 1)[0] if env_id else ""
    return _RULES.get(family, GENERIC_RULES)
