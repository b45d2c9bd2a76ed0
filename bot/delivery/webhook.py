"""Webhooks: Discord (or Discord-compatible) webhooks the operator configured, over httpx."""

from __future__ import annotations

from typing import Any

import httpx

from bot.core.embeds import webhook_message
from bot.core.records import Delivery
from bot.core.sinks import DeliveryError, Sink


class WebhookSink:
    """A Discord (or Discord-compatible) webhook, posted to exactly as the operator gave it."""

    def __init__(self, url: str, label: str, client: httpx.AsyncClient) -> None:
        self._url = url  # secret: never logged
        self.label = label
        self._client = client

    def __repr__(self) -> str:
        return f"WebhookSink({self.label!r})"

    async def send(self, delivery: Delivery) -> str | None:
        body = webhook_message(delivery.payload)
        edit_id = delivery.payload.get("edit_message_id")
        try:
            if edit_id:
                response = await self._client.patch(
                    f"{self._url.split('?', 1)[0]}/messages/{edit_id}", json=body
                )
            else:
                # Discord ignores the key; receivers that honour Idempotency-Key drop a resend.
                response = await self._client.post(
                    self._url,
                    params={"wait": "true"},
                    json=body,
                    headers={"Idempotency-Key": f"breachradar-{delivery.id}"},
                )
        except httpx.TimeoutException:
            raise DeliveryError(f"webhook {self.label}: timed out") from None
        except httpx.TransportError as exc:
            raise DeliveryError(f"webhook {self.label}: {type(exc).__name__}") from None
        status = response.status_code
        if status in (200, 201, 204):
            message_id: str | None = None
            if status != 204:
                try:
                    data = response.json()
                    message_id = (
                        str(data.get("id")) if isinstance(data, dict) and data.get("id") else None
                    )
                except ValueError:
                    message_id = None
            return message_id or (str(edit_id) if edit_id else None)
        if edit_id and status == 404:
            # The original message is gone; the update is not worth a new alert.
            return None
        if status == 429:
            raise DeliveryError(
                f"webhook {self.label}: rate limited (429)", retry_after=_retry_after(response)
            )
        if status >= 500:
            raise DeliveryError(f"webhook {self.label}: server error {status}")
        if status in (401, 403, 404):
            raise DeliveryError(
                f"webhook {self.label}: answered {status}; the webhook was deleted or is invalid",
                permanent=True,
            )
        raise DeliveryError(f"webhook {self.label}: answered {status}", permanent=status < 500)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        data = response.json()
        if isinstance(data, dict) and "retry_after" in data:
            return max(0.0, float(data["retry_after"]))
    except (ValueError, TypeError):
        pass
    header = response.headers.get("Retry-After")
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None


def make_webhook_sinks(targets: Any, client: httpx.AsyncClient) -> dict[str, Sink]:
    """One sink per configured webhook, keyed ``webhook:<label>``."""
    return {f"webhook:{t.label}": WebhookSink(t.url, t.label, client) for t in targets}
