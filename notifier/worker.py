"""The worker process: a Temporal client and an activity-only worker on the notifier's task
queue, until SIGTERM or SIGINT; then in-flight activities get a few seconds to finish (the drain
returns early) before the worker and the database pool close."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta
from pathlib import Path

from psycopg_pool import AsyncConnectionPool
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import TLSConfig
from temporalio.worker import Worker

from .activities import NotifierActivities
from .codec import data_converter_for
from .config import Config
from .kakao import DEFAULT_HALT_CODES, KakaoSender, Sender, SinkSender
from .log import log

GRACEFUL_SHUTDOWN = timedelta(seconds=5)
# Connections are held for single statements, never across a send: a few serve many activities.
POOL_SIZE = 10


def make_sender(config: Config) -> Sender:
    if config.kakao_api_url:
        return KakaoSender(
            config.kakao_api_url,
            config.kakao_sender_key or "",
            config.kakao_api_key or "",
            idempotency_header=config.kakao_idempotency_header,
            halt_codes=DEFAULT_HALT_CODES | set(config.kakao_halt_codes),
        )
    return SinkSender(config.kakao_sender_key)


def tls_for(config: Config) -> TLSConfig | bool:
    """TLS to Temporal as configured: off (the dev server), on, or mutual with the client's PEM files."""
    if not config.temporal_tls:
        return False
    read = lambda path: Path(path).read_bytes() if path else None  # noqa: E731
    if not (config.temporal_tls_cert or config.temporal_tls_ca):
        return True
    return TLSConfig(
        client_cert=read(config.temporal_tls_cert),
        client_private_key=read(config.temporal_tls_key),
        server_root_ca_cert=read(config.temporal_tls_ca),
    )


async def run(config: Config) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    watcher = asyncio.create_task(_exit_with_parent(stop)) if config.exit_with_parent else None

    pool = AsyncConnectionPool(
        config.database_url, min_size=1, max_size=POOL_SIZE, open=False, kwargs={"autocommit": True}, name="notifier"
    )
    try:
        await pool.open(wait=True, timeout=15)
        client = await Client.connect(
            config.temporal_address,
            namespace=config.temporal_namespace,
            data_converter=data_converter_for(config.payload_keys),
            identity=config.identity,
            tls=tls_for(config),
            api_key=config.temporal_api_key,
        )
        # Fail here with a clear message rather than later inside the worker's pollers.
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=config.temporal_namespace))
        return await _serve(config, client, pool, stop)
    except Exception as error:
        log("error", "notifier failed", error={"name": type(error).__name__, "message": str(error)})
        return 1
    finally:
        if watcher:
            watcher.cancel()
        await pool.close()


async def _exit_with_parent(stop: asyncio.Event) -> None:
    """Stops the notifier once the process that started it is gone (it was re-parented)."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(1)
    log("warn", "notifier stopping: its parent process is gone", parent=parent)
    stop.set()


async def _serve(config: Config, client: Client, pool: AsyncConnectionPool, stop: asyncio.Event) -> int:
    sender = make_sender(config)
    try:
        return await _work(config, client, NotifierActivities(pool, sender, rate_per_second=config.rate_per_second), stop)
    finally:
        await sender.aclose()


async def _work(config: Config, client: Client, activities: NotifierActivities, stop: asyncio.Event) -> int:
    worker = Worker(
        client,
        task_queue=config.task_queue,
        activities=activities.all(),
        max_concurrent_activities=config.max_concurrent,
        identity=config.identity,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )
    running = asyncio.create_task(worker.run())
    stopping = asyncio.create_task(stop.wait())
    # At any LOG_LEVEL: launchers (npm start, the tests) wait for this line.
    log(
        "always",
        "notifier polling",
        taskQueue=config.task_queue,
        namespace=config.temporal_namespace,
        channel=config.channel,
        identity=config.identity,
        temporalAddress=config.temporal_address,
        encrypted=bool(config.payload_keys),
        rate=config.rate_per_second,
        maxConcurrent=config.max_concurrent,
    )
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if running.done():  # the worker died on its own (a fatal error): not a clean stop
        stopping.cancel()
        running.result()
        return 1
    log("info", "notifier stopping", graceSeconds=GRACEFUL_SHUTDOWN.total_seconds())
    await worker.shutdown()
    await running
    log("info", "notifier stopped")
    return 0
