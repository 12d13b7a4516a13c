"""The one line the driver types into on a game day: a question, the text typed so far, and what
ends it (Enter, or Esc to drop it).  A prompt may expect an exact answer (the cluster's name
before the go) or a single key (y to confirm).  Pure: keys in, state out."""

from __future__ import annotations

from dataclasses import dataclass

ENTER = ("\r", "\n")
ESC = "\x1b"
BACKSPACE = ("\x7f", "\b")


@dataclass
class Prompt:
    question: str
    expect: str | None = None  # the exact text that answers it (the cluster's name)
    single_key: bool = False  # y answers, anything else declines
    allow_empty: bool = False
    text: str = ""
    hint: str = ""  # why the last Enter was not taken
    done: bool = False
    answer: str | None = None  # None: dropped (Esc, or a declined confirmation)

    def feed(self, key: str) -> bool:
        """Take one key; True once the prompt is answered or dropped."""
        if self.done:
            return True
        if self.single_key:
            self._finish(key if key.lower() == "y" else None)
        elif key == ESC:
            self._finish(None)
        elif key in ENTER:
            if self.expect is not None and self.text.strip() != self.expect:
                self.hint = f"that is not {self.expect!r}; type it exactly, or Esc"
                self.text = ""
            elif not self.text.strip() and not self.allow_empty:
                self.hint = "type something, or Esc"
            else:
                self._finish(self.text.strip())
        elif key in BACKSPACE:
            self.text = self.text[:-1]
        elif key.isprintable():
            self.text += key
            self.hint = ""
        return self.done

    def _finish(self, answer: str | None) -> None:
        self.answer = answer
        self.done = True

    def line(self) -> str:
        if self.single_key:
            return f"{self.question} [y/N] "
        return f"{self.question} {self.text}█" + (f"   ({self.hint})" if self.hint else "")
