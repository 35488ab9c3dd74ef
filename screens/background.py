"""Background work for screens: one way to run it, one way for its answer to come back.

A job is a plain function: it takes its inputs as arguments (it never reads screen state from
its thread) and returns its result. `self.background("load", fn, *args)` runs it in a thread
worker named "load"; the answer arrives on the event loop as `self.load_done(result)`. An error
calls `self.load_failed(text)` when the widget has one, else it goes to the widget's status
line: a HelpdeskError as its text, anything else with its type (`KeyError: 'x'`), so no error
ever vanishes and none ends the app. The answer of a job that a newer one of the same group
replaced (each keystroke starts a search), or of a widget that was left, is dropped.

Jobs run in daemon threads (`DaemonExecutor`): one blocked on a socket or a FIFO never keeps
the process alive after the operator quits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from textual.message import Message
from textual.worker import Worker, WorkerState, get_current_worker

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import _
from helpdesk.plaintext import printable
from screens.widgets.status import StatusLine


def error_text(exc: BaseException) -> str:
    """What the operator reads for a failed job: a HelpdeskError says it all itself."""
    if isinstance(exc, HelpdeskError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class DaemonExecutor(ThreadPoolExecutor):
    """asyncio's default executor for the app: one daemon thread per job, never joined.

    asyncio.run() joins the default executor's threads at exit without a time limit (Python
    3.11), and so does concurrent.futures at interpreter exit: one job stuck in a read kept
    the process alive after Ctrl+Q. A daemon thread ends with the process instead; the
    database server rolls back a transaction whose connection went away.
    """

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="helpdesk")

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits the future
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=run, name="helpdesk job", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Never waits: a job still running is abandoned, its answer has nowhere to go."""


@dataclass
class JobProgress(Message, bubble=False):
    """`done` of `total` from a running job, posted from its thread."""

    worker: Worker
    done: int
    total: int


class Progress:
    """The `progress(done, total)` callback a job gets: posts only when the percentage moves,
    so a fast read does not flood the event loop. `part` of `parts` passes over the data."""

    def __init__(self, node: Any, part: int = 0, parts: int = 1) -> None:
        self.node, self.part, self.parts = node, part, parts
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        total = max(total, 1)
        grand = total * self.parts
        done += self.part * total
        pct = done * 100 // grand
        if pct != self.last:
            self.last = pct
            self.node.post_message(JobProgress(get_current_worker(), done, grand))


class Background:
    """Mixed into a Screen or Widget that runs jobs. `STATUS` selects its status line."""

    STATUS = "StatusLine"

    def background(
        self, name: str, fn: Callable[..., Any], *args: Any, group: str | None = None
    ) -> Worker:
        """Run `fn(*args)` in a thread worker `name`; a newer job of `group` replaces it."""
        group = group or name

        def job() -> Any:
            threading.current_thread().name = f"helpdesk {name}"
            return fn(*args)

        worker = self.run_worker(  # type: ignore[attr-defined]
            job, name=name, group=group, thread=True, exclusive=True, exit_on_error=False
        )
        self._latest()[group] = worker
        return worker

    def stop_flag(self, group: str) -> Callable[[], bool]:
        """A `cancelled()` check to pass to the next job of `group`: true once `stop(group)`
        ran, a newer job of the group asked for its own, or the widget was left. Log readers
        ask it between chunks and raise `Cancelled`; the job may return what it read so far."""
        old = self._stops().get(group)
        if old is not None:
            old.set()
        flag = self._stops()[group] = threading.Event()
        return flag.is_set

    def stop(self, group: str) -> bool:
        """Ask the job of `group` to stop; False when none is running."""
        worker = self._latest().get(group)
        flag = self._stops().get(group)
        if worker is None or worker.is_finished or flag is None:
            return False
        flag.set()
        return True

    def running(self, group: str) -> bool:
        worker = self._latest().get(group)
        return worker is not None and not worker.is_finished

    def forget(self, group: str) -> None:
        """Drop the answer of the job of `group` that is still running (and stop it)."""
        self._latest().pop(group, None)
        flag = self._stops().pop(group, None)
        if flag is not None:
            flag.set()
        self.workers.cancel_group(self, group)  # type: ignore[attr-defined]

    def show_status(self, text: object, *, error: bool = False) -> None:
        for line in self.query(self.STATUS).results(StatusLine):  # type: ignore[attr-defined]
            line.show(text, error=error)
            return
        if error:  # no status line (yet): the error is still said
            self.notify(printable(text), markup=False, severity="error")  # type: ignore[attr-defined]

    # --- the answers ---------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.node is not self or self._latest().get(worker.group) is not worker:
            return  # not one of ours, or a job that a newer one replaced
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        del self._latest()[worker.group]
        self._stops().pop(worker.group, None)
        try:
            if event.state == WorkerState.SUCCESS:
                getattr(self, f"{_attr(worker.name)}_done")(worker.result)
                return
            text = error_text(worker.error) if worker.error else _("failed")
            failed = getattr(self, f"{_attr(worker.name)}_failed", None)
            if failed is not None:
                failed(text)
            else:
                self.show_status(text, error=True)
        except Exception as exc:  # noqa: BLE001 - showing an answer must not end the app
            self.show_status(error_text(exc), error=True)

    def on_job_progress(self, message: JobProgress) -> None:
        worker = message.worker
        if self._latest().get(worker.group) is worker:
            handler = getattr(self, f"{_attr(worker.name)}_progress", None)
            if handler is not None:
                handler(message.done, message.total)

    def on_unmount(self) -> None:
        for flag in self._stops().values():
            flag.set()
        self._latest().clear()

    # Attributes made on first use: a mixin has no say in the widget's __init__.
    def _latest(self) -> dict[str, Worker]:
        return self.__dict__.setdefault("_background_latest", {})

    def _stops(self) -> dict[str, threading.Event]:
        return self.__dict__.setdefault("_background_stops", {})


def _attr(name: str) -> str:
    return name.replace(" ", "_").replace("-", "_")
