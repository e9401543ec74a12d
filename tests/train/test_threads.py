"""The thread count of CPU training on a busy machine (llasmol.train.threads)."""

from __future__ import annotations

from llasmol.train.threads import busy_machine_threads


def test_training_uses_one_thread_only_when_other_work_fills_every_core(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("os.getloadavg", lambda: (2.4, 2.0, 1.0))
    threads, why = busy_machine_threads()
    assert threads == 1 and "load 2.4 on 2 cores" in why
    monkeypatch.setattr("os.getloadavg", lambda: (1.2, 1.0, 1.0))
    assert busy_machine_threads() is None  # a free core: torch's default
    monkeypatch.setattr("os.getloadavg", lambda: (2.4, 2.0, 1.0))
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert busy_machine_threads() is None  # the user's choice wins
