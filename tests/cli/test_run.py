"""``breachradar run``: the long-running service polls on schedule and delivers."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import REPO, cli_env
from tests.support.localserver import DiscordWebhook, LocalServer, Response
from tests.support.scenario import write_config

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>The Record from Recorded Future News</title>
<link>https://therecord.media</link>
{items}
</channel></rss>"""
ITEM = """<item><title><![CDATA[{title}]]></title><link>{link}</link>
<guid isPermaLink="false">{link}</guid><pubDate>{date}</pubDate></item>"""


@pytest.mark.slow
def test_run_polls_on_schedule_and_delivers_new_items(
    tmp_path: Path, web: LocalServer, receiver: LocalServer
) -> None:
    """The service delivers what is there, then what appears later, each once, and stops on SIGTERM."""
    first = ITEM.format(
        title="MoneyGram says cyberattack disrupted money transfers worldwide",
        link="https://therecord.media/moneygram-cyberattack-disrupted-transfers",
        date="Tue, 24 Sep 2024 13:05:00 -0400",
    )
    web.route(
        "/feed",
        Response(200, FEED.format(items=first).encode(), {"Content-Type": "application/rss+xml"}),
    )
    hook = DiscordWebhook(receiver)
    cfg = write_config(
        tmp_path / "c",
        loopback=True,
        sources=f'[[sources]]\nname = "the-record"\nkind = "rss"\nurl = "{web.url("/feed")}"\nevery = "1s"\n',
        settings=f'max_alert_age = "none"\njitter = 0\n[[webhooks]]\nurl = "{hook.url}"\n',
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(cfg),
            "--db",
            f"sqlite:///{tmp_path / 'r.db'}",
        ],
        cwd=REPO,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert len(receiver.wait_for(1, method="POST", path=hook.path, timeout=30)) == 1
        second = ITEM.format(
            title="Casio confirms ransomware attack, data of employees and customers exposed",
            link="https://therecord.media/casio-ransomware-attack-data-exposed",
            date="Fri, 11 Oct 2024 08:30:00 -0400",
        )
        web.route(
            "/feed",
            Response(
                200,
                FEED.format(items=second + first).encode(),
                {"Content-Type": "application/rss+xml"},
            ),
        )
        assert len(receiver.wait_for(2, method="POST", path=hook.path, timeout=30)) == 2
        # Several more polls of an unchanged feed deliver nothing more.
        polls = len(web.received("GET", "/feed"))
        web.wait_for(polls + 3, method="GET", path="/feed", timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    titles = [m["embeds"][0]["title"] for m in hook.messages.values()]
    assert titles == [
        "MoneyGram says cyberattack disrupted money transfers worldwide",
        "Casio confirms ransomware attack, data of employees and customers exposed",
    ]
    assert len(hook.posts()) == 2
    assert "match: [Casio]" in err
