"""``python -m mer_bench.tracking.ui``: the MLflow UI, opened on the bench runs.

Takes ``mlflow ui``'s options (any it does not name here pass through), makes sure the
store's experiment carries its description and runs view (``experiment``), prints the
URL of the runs table and starts ``mlflow ui``. Where a desktop is there to show it
(macOS, Windows, an X or Wayland session) the URL also opens in the browser once the
server answers; on a bare terminal it is only printed (a text browser would take the
terminal over).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import webbrowser
from typing import TYPE_CHECKING

from mer_bench.errors import ConfigError, MerBenchError

if TYPE_CHECKING:
    from mer_bench.tracking.mlflow_tracker import MLflowTracker


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m mer_bench.tracking.ui")
    parser.add_argument("--backend-store-uri", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    return parser.parse_known_args(argv)


def server_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches the server (a wildcard host is local)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}"


def page_url(store_uri: str | None, host: str, port: int) -> str:
    """Open the store (creating or updating its experiment) and name its runs page."""
    from mer_bench.tracking import make_tracker
    from mer_bench.tracking.experiment import runs_url
    from mer_bench.tracking.mlflow_tracker import MLflowTracker

    tracker = make_tracker(store_uri)
    if not isinstance(tracker, MLflowTracker):
        raise ConfigError("the MLflow UI needs an MLflow store, not the in-memory tracker")
    narrow_view(tracker)
    return runs_url(server_url(host, port), tracker.experiment_id)


def narrow_view(tracker: MLflowTracker, sample: int = 500) -> None:
    """Show the metric columns the store's bench runs and sweeps report (looking at the
    newest ``sample`` of each), not empty columns of tasks it never ran."""
    from mer_bench.tracking.experiment import VIEW_TAG, view_metrics, view_tag

    present: set[str] = set()
    for kind in ("run", "sweep"):
        runs = tracker.client.search_runs([tracker.experiment_id], f"tags.kind = '{kind}'",
                                          max_results=sample)
        present.update(key for run in runs for key in run.data.metrics)
    value = view_tag(view_metrics(present))
    if tracker.client.get_experiment(tracker.experiment_id).tags.get(VIEW_TAG) != value:
        tracker.client.set_experiment_tag(tracker.experiment_id, VIEW_TAG, value)


def has_desktop() -> bool:
    """Whether opening a browser shows a window rather than taking over this terminal."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_when_up(url: str, host: str, port: int, timeout_s: float = 120.0) -> None:
    """Open ``url`` in the browser as soon as the server's port answers."""
    target = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((target, port), timeout=1):
                webbrowser.open(url)
                return
        except OSError:
            time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    args, rest = _parse(sys.argv[1:] if argv is None else argv)
    try:
        url = page_url(args.backend_store_uri, args.host, args.port)
    except MerBenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"MLflow UI, bench runs with their primary metrics: {url}", flush=True)
    command = [sys.executable, "-m", "mlflow", "ui", "--host", args.host,
               "--port", str(args.port), *rest]
    if args.backend_store_uri:
        command[4:4] = ["--backend-store-uri", args.backend_store_uri]
    if has_desktop():
        threading.Thread(target=_open_when_up, args=(url, args.host, args.port),
                         daemon=True).start()
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
