"""``vaxchain webhooks deliver``: the worker that sends the queued deliveries (run it next to gunicorn)."""
import signal
import threading

import click
from flask.cli import AppGroup

from core.cli import needs_database
from plugins.webhooks import services

webhooks_group = AppGroup("webhooks", help="Webhook deliveries.")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@webhooks_group.command("deliver")
@click.option("--once", is_flag=True, help="Send what is due now, then exit (e.g. from cron).")
@click.option("--interval", type=click.FloatRange(0.1, 3600), default=5.0, show_default=True,
              help="Seconds to wait when nothing is due before looking again.")
@needs_database
def deliver_command(once, interval):
    """Send the queued webhook deliveries, each endpoint's in the order of the events, retrying failures.

    Without --once it runs until SIGTERM or Ctrl-C, which let the request being sent finish first.
    """
    removed = services.fail_removed_endpoints()
    if removed:
        click.echo(f"Webhooks: {removed} pending deliveries failed: {services.REMOVED_ENDPOINT}.")
    if once:
        show(services.deliver_due())
        return
    stopping = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stopping.set()) for number in STOP_SIGNALS}
    click.echo(f"Delivering webhooks every {interval:g} s; stop with SIGTERM or Ctrl-C.")
    try:
        while not stopping.is_set():
            report = services.deliver_due(stop=stopping.is_set)
            if report.delivered or report.retried or report.failed:
                show(report)
            stopping.wait(interval)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    click.echo("Stopped.")


def show(report):
    click.echo(f"Webhooks: {report.delivered} delivered, {report.retried} to retry, {report.failed} failed.")
