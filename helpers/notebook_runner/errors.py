"""What goes wrong running or refreshing the notebooks, as exceptions whose message says what to do."""

from __future__ import annotations

from pathlib import Path

from .locations import display


class RunnerError(RuntimeError):
    """The notebooks could not be run or refreshed; the message says why and what to do."""


class NotebookFailed(RunnerError):
    """A notebook raised: names the notebook, the cell (1-based, as in the source), its first line and the error."""

    def __init__(self, notebook: str, *, cell: int | None, exec_count: int | None, first_line: str,
                 ename: str, evalue: str, output_path: Path | None) -> None:
        self.notebook = notebook
        self.cell = cell
        self.exec_count = exec_count
        self.first_line = first_line
        self.ename = ename
        self.evalue = evalue
        self.output_path = output_path
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"cell {self.cell}" if self.cell else "a cell"
        if self.exec_count:
            where += f" (In [{self.exec_count}])"
        lines = [f"{self.notebook} failed at {where}"]
        if self.first_line:
            lines[0] += ", which starts with:"
            lines.append(f"    {self.first_line}")
        lines.append(f"{self.ename}: {self.evalue}" if self.evalue else self.ename)
        if self.output_path is not None:
            lines.append(f"the executed copy, with the full traceback: {display(self.output_path)}")
        return "\n".join(lines)


class MachinePathError(RunnerError):
    """A notebook output holds a path of this machine (the repository, the home folder, a temp folder)."""
