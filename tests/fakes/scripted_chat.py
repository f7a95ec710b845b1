"""A chat model that answers from a script: for planner and runner tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from brigade.chat import ChatModel, ChatRequest, Completion, Message, Usage, messages_tokens
from brigade.errors import InfrastructureError


class ScriptedChat(ChatModel):
    """Replies come from ``script``: a list (one reply per call, in order) or a function.

    A reply that is an exception instance is raised instead (to inject failures).
    Every request is kept in :attr:`requests`.
    """

    def __init__(
        self,
        script: Sequence[str | Exception] | Callable[[Sequence[Message]], str | Exception],
        model: str = "scripted",
    ):
        self.script = script
        self.model = model
        self.requests: list[ChatRequest] = []

    def complete_request(self, request: ChatRequest) -> Completion:
        self.requests.append(request)
        if callable(self.script):
            reply = self.script(request.messages)
        else:
            index = len(self.requests) - 1
            if index >= len(self.script):
                raise InfrastructureError("the script ran out of replies")
            reply = self.script[index]
        if isinstance(reply, Exception):
            raise reply
        return Completion(
            reply,
            Usage(messages_tokens(request.messages), len(reply) // 4, "estimate"),
            0.0,
            model=self.model,
        )
