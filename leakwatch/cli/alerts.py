"""``alerts test|list``: check the alert routes, and see what the outbox holds."""

from __future__ import annotations

import typer
from rich.table import Table

from leakwatch.cli.common import JSON_OPTION, err, fail, one_line_errors, out, print_json, services
from leakwatch.display import printable

app = typer.Typer(help="Alert routes (apprise URLs) and the outbox of alerts.", no_args_is_help=True)


@app.command("test")
@one_line_errors
def test(as_json: bool = JSON_OPTION) -> None:
    """Send a test message to every route URL now (a signed ``test`` document to webhook+json routes),
    and say which failed and why (URLs shown masked).

    Exit status: 0 all delivered, 1 some failed, 2 no route configured."""
    from leakwatch.incidents import alerts, webhook
    from leakwatch.settings import is_webhook
    from leakwatch.storage.store import utcnow

    svc = services()
    secrets: dict[str, str | None] = {}
    for route in svc.settings.alerts.routes:
        for url in route.urls:
            secrets.setdefault(url, route.secret.get_secret_value() if route.secret else None)
    urls = list(secrets)
    if not urls:
        raise fail(f"no alert route configured ([[alerts.routes]] urls in {svc.settings.config_file})")
    message = alerts.test_alert(utcnow())
    timeout = svc.settings.alerts.send_timeout
    failed = 0
    for url in urls:
        secret = secrets[url]
        if is_webhook(url) and secret:
            reason = webhook.post(url, secret, webhook.body(message, False, utcnow().isoformat()), message.key,
                                  "test", timeout)
        else:
            reason = alerts.send(url, message.title, message.body, message.severity, timeout)
        failed += reason is not None
        label = alerts.mask_url(url)
        if as_json:
            print_json({"route": label, "ok": reason is None, "error": reason})
        elif reason is None:
            out.print(f"ok    {printable(label)}")
        else:
            out.print(f"FAIL  {printable(label)}: {printable(reason)}")
    if failed and not as_json:
        err.print(f"leakwatch: {failed} of {len(urls)} route(s) failed", markup=False)
    raise typer.Exit(1 if failed else 0)


@app.command("list")
@one_line_errors
def list_(
    status: str | None = typer.Option(None, "--status", help="pending, sent or failed."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many, newest first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Alert deliveries, one per alert and route: pending (with the next attempt and last error),
    sent, or failed for good (route removed, URL invalid)."""
    from leakwatch.incidents import outbox

    if status not in (None, *outbox.STATUSES):
        raise fail(f"--status: expected one of {', '.join(outbox.STATUSES)}, got {status!r}")
    rows = outbox.rows(services().engine, status, limit)
    if as_json:
        for row in rows:
            print_json(outbox.outbox_json(row))
        return
    if not rows:
        out.print("no alert")
        return
    table = Table()
    for column in ("id", "status", "alert", "severity", "route", "attempts", "created (UTC)", "sent / next (UTC)",
                   "last error"):
        table.add_column(column)
    for r in rows:
        when = r.sent_at if r.status == "sent" else r.next_attempt_at if r.status == "pending" else None
        table.add_row(str(r.id), r.status, printable(r.alert_key), r.severity, printable(r.route_label),
                      str(r.attempts), _when(r.created_at), _when(when), printable(r.last_error or ""))
    out.print(table)


def _when(value: object) -> str:
    from leakwatch.storage.store import as_utc

    v = as_utc(value) if value is not None else None  # type: ignore[arg-type]
    return v.strftime("%Y-%m-%d %H:%M:%S") if v else ""
