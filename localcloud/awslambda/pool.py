"""How many Lambda execution environments and invocations run at once, and which stay warm.

:class:`Pool` keeps idle environments per function version for reuse, at most
``MAX_ENVIRONMENTS`` alive across all functions: beyond that, the function holding the
most gives up its least recently used idle one, or the new invocation waits. It replaces an
environment whose code or configuration changed or that is older than
``MAX_ENVIRONMENT_AGE_S``; :func:`reaper` ends those idle for ``IDLE_SECONDS``.
:class:`Concurrency` holds a function's in-flight invocations to its reserved concurrency;
``CONCURRENT_INITS`` bounds the cold starts initializing at once (``runtime.py`` holds the
semaphore).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the pool only holds environments; it neither builds nor runs them
    from .environment import Environment, FunctionSpec

log = logging.getLogger("localcloud.lambda")

# An environment's role credentials last 12 hours (credentials.issue_for_role); it is retired
# an hour before, so a function never signs with expired ones. Lambda recycles its own within hours.
MAX_ENVIRONMENT_AGE_S = 11 * 3600
IDLE_SECONDS = float(os.environ.get("LOCALCLOUD_LAMBDA_IDLE_SECONDS", 300))
MAX_ENVIRONMENTS = int(os.environ.get("LOCALCLOUD_LAMBDA_MAX_ENVIRONMENTS", 32))
# On Lambda every environment initializes on its own CPU; here they share this machine's
# cores, and twenty boto3 imports at once would each blow the 10 s init limit. Cold starts
# beyond this many wait their turn (the wait does not count against the init limit).
CONCURRENT_INITS = int(os.environ.get("LOCALCLOUD_LAMBDA_CONCURRENT_INITS", max(2, os.cpu_count() or 2)))


@dataclass
class Pool:
    """Warm environments per function, at most MAX_ENVIRONMENTS alive at once."""

    idle: dict[str, list[Environment]] = field(default_factory=dict)  # by function ARN + version
    busy: set[Environment] = field(default_factory=set)  # serving an invocation now
    live: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)

    def acquire(self, spec: FunctionSpec, build) -> tuple[Environment, bool]:
        slot = f"{spec.arn}:{spec.version}"
        with self.cond:
            while True:
                stale = [e for e in self.idle.get(slot, []) if e.spec.key != spec.key or not e.alive
                         or time.monotonic() - e.started > MAX_ENVIRONMENT_AGE_S]
                # Code or configuration changed, or the environment is old enough that its role's
                # credentials would soon expire: replace it, as Lambda recycles its environments.
                for env in stale:
                    self.idle[slot].remove(env)
                    self._discard(env)
                if self.idle.get(slot):
                    env = self.idle[slot].pop()
                    self.busy.add(env)
                    return env, False
                if self.live < MAX_ENVIRONMENTS:
                    self.live += 1
                    break
                victim = self._victim()
                if victim is not None:
                    self._discard(victim)
                    self.live += 1
                    break
                self.cond.wait(timeout=1.0)
        try:
            env = build()
        except BaseException:
            with self.cond:
                self.live -= 1
                self.cond.notify()
            raise
        with self.cond:
            self.busy.add(env)
        return env, True

    def release(self, env: Environment, reusable: bool) -> None:
        with self.cond:
            self.busy.discard(env)
            if reusable and env.alive and not getattr(env, "retired", False):
                env.last_used = time.monotonic()
                self.idle.setdefault(f"{env.spec.arn}:{env.spec.version}", []).append(env)
            else:
                self._discard(env)
            self.cond.notify()

    def _discard(self, env: Environment) -> None:
        """Kill ``env`` and free its slot; the caller holds the lock."""
        self.live -= 1
        threading.Thread(target=env.kill, daemon=True).start()

    def _victim(self) -> Environment | None:
        """The idle environment to give up for a new one, taken out of the pool; the caller holds the lock.

        From the function that holds the most environments, its least recently used: taking
        the oldest of all would take a function's only warm environment while another has a
        dozen idle, and under load the functions would keep evicting each other into cold starts.
        """
        sizes = Counter(f"{e.spec.arn}:{e.spec.version}" for e in self.busy)
        for slot, group in self.idle.items():
            sizes[slot] += len(group)
        slots = [slot for slot, group in self.idle.items() if group]
        if not slots:
            return None
        group = self.idle[max(slots, key=lambda slot: sizes[slot])]
        victim = min(group, key=lambda e: e.last_used)
        group.remove(victim)
        return victim

    def reap(self, idle_seconds: float) -> int:
        now = time.monotonic()
        with self.cond:
            expired = [e for group in self.idle.values() for e in group if now - e.last_used > idle_seconds]
            for env in expired:
                for group in self.idle.values():
                    if env in group:
                        group.remove(env)
                self._discard(env)
            if expired:
                self.cond.notify_all()
        return len(expired)

    def summary(self) -> dict[str, int]:
        with self.cond:
            counts: dict[str, int] = {}
            for envs in self.idle.values():
                for env in envs:
                    counts[env.spec.name] = counts.get(env.spec.name, 0) + 1
            return counts

    def discard_where(self, condition) -> None:
        """Discard idle environments whose spec meets ``condition``; busy ones finish, then go."""
        with self.cond:
            for group in self.idle.values():
                for env in [e for e in group if condition(e.spec)]:
                    group.remove(env)
                    self._discard(env)
            for env in self.busy:
                if condition(env.spec):
                    env.retired = True
            self.cond.notify_all()

    def folders_in_use(self) -> tuple[set[str], set[str]]:
        with self.cond:
            envs = [e for group in self.idle.values() for e in group] + list(self.busy)
        return {e.folders[0] for e in envs}, {e.folders[1] for e in envs if e.folders[1]}

    def close(self) -> None:
        with self.cond:
            for env in [e for group in self.idle.values() for e in group]:
                env.kill()
            self.idle.clear()
            for env in list(self.busy):  # their invocations end now, as the server does
                env._stop()


class Concurrency:
    """In-flight invocations per function, held to its reserved concurrency when it has one."""

    def __init__(self) -> None:
        self._running: dict[str, int] = {}
        self._cond = threading.Condition()

    def try_acquire(self, key: str, reserved: int | None) -> bool:
        with self._cond:
            if reserved is not None and self._running.get(key, 0) >= reserved:
                return False
            self._running[key] = self._running.get(key, 0) + 1
            return True

    def acquire_waiting(self, key: str, reserved: int | None) -> None:
        """For asynchronous invocations: Lambda queues a throttled event and retries it."""
        with self._cond:
            while reserved is not None and self._running.get(key, 0) >= reserved:
                self._cond.wait(timeout=1.0)
            self._running[key] = self._running.get(key, 0) + 1

    def release(self, key: str) -> None:
        with self._cond:
            self._running[key] -= 1
            if not self._running[key]:
                del self._running[key]
            self._cond.notify_all()


def reaper(pool: Pool) -> None:
    """End ``pool``'s environments idle for longer than ``IDLE_SECONDS``, forever (a daemon thread)."""
    while True:
        time.sleep(min(10.0, max(IDLE_SECONDS / 2, 0.5)))
        reaped = pool.reap(IDLE_SECONDS)
        if reaped:
            log.info("reaped %d idle execution environment(s)", reaped)
