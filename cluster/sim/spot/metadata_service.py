"""The instance metadata service of every simulated instance: real HTTP on the node's own
loopback address (port `imds.port`, AEMM's 1338 by default), IMDSv1 and IMDSv2 tokens, and the
notices the interruption engine gives.  The local stand-in for deploying amazon-ec2-metadata-mock
and pointing NTH's INSTANCE_METADATA_URL at it."""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiohttp import web

from cluster.sim.aws.instance_roles import assume_instance_role
from cluster.sim.aws.moto_server import ACCOUNT_ID
from cluster.sim.clock import SimClock
from cluster.sim.controllers.kubelet import Kubelets, NodeAgent
from cluster.sim.spot.metadata import META, NOT_FOUND_BODY, InstanceMetadata, answer

log = structlog.get_logger("sim.imds")

TOKEN_PATH = "/latest/api/token"
DEFAULT_NODE_ROLE = "spotchaos-sim-node-role"
CREDENTIALS_LIFETIME = timedelta(hours=6)  # IMDS's role credentials last about six hours ...
CREDENTIALS_REFRESH = timedelta(minutes=15)  # ... and are replaced well before they run out
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAX_TTL = 21600


@dataclass
class _Endpoint:
    meta: InstanceMetadata
    address: str
    instance: object | None = None  # moto's instance: its metadata options (HttpTokens) are read per request
    site: web.TCPSite | None = None


def _real_now() -> float:
    return asyncio.get_running_loop().time()


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def role_credentials(now: datetime, access_key_id: str, secret_access_key: str, token: str, expiration: datetime) -> dict[str, str]:
    """The instance profile role's temporary credentials, in IMDS's document."""
    return {"Code": "Success", "LastUpdated": _iso(now), "Type": "AWS-HMAC", "AccessKeyId": access_key_id, "SecretAccessKey": secret_access_key,
            "Token": token, "Expiration": _iso(expiration)}


def _user_data(raw: object) -> str | None:
    value = raw[0] if isinstance(raw, list) and raw else raw
    if not isinstance(value, str | bytes) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", errors="replace")
    except (ValueError, binascii.Error):
        return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


def instance_facts(inst: object | None) -> dict[str, Any]:
    """What the metadata shows of moto's instance: security groups, network, instance profile
    role (the node role of an EKS node), user data."""
    if inst is None:
        return {}
    groups = [(getattr(g, "name", ""), getattr(g, "id", "")) for g in getattr(inst, "security_groups", None) or []]
    profile = getattr(inst, "iam_instance_profile", None) or {}
    arn = str(profile.get("Arn") or profile.get("arn") or "") if isinstance(profile, dict) else ""
    name = arn.rsplit("/", 1)[-1] if arn else (str(profile.get("Name") or "") if isinstance(profile, dict) else "")
    name = name or DEFAULT_NODE_ROLE  # every EKS node runs with an instance profile; moto may not know which
    return {"security_groups": groups, "subnet_id": getattr(inst, "subnet_id", "") or "", "vpc_id": getattr(inst, "vpc_id", "") or "",
            "role": name, "instance_profile_arn": arn or f"arn:aws:iam::{ACCOUNT_ID}:instance-profile/{name}",
            "user_data": _user_data(getattr(inst, "user_data", None))}


class MetadataService:
    def __init__(self, clock: SimClock, kubelets: Kubelets, region: str, port: int, moto_lock: object) -> None:
        self.clock = clock
        self.region = region
        self.port = port
        self._moto_lock = moto_lock
        self.instances: dict[str, _Endpoint] = {}
        self._by_address: dict[str, str] = {}
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (instance id, expiry on the event loop's monotonic clock)
        self._tasks: set[asyncio.Task[None]] = set()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        kubelets.node_listeners.append(self._on_node)

    async def start(self) -> None:
        await self._runner.setup()

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await self._runner.cleanup()

    # ---- the notices (set by the interruption engine) ------------------------------
    def get(self, instance_id: str) -> InstanceMetadata | None:
        ep = self.instances.get(instance_id)
        return ep.meta if ep else None

    def url(self, instance_id: str) -> str | None:
        ep = self.instances.get(instance_id)
        return f"http://{ep.address}:{self.port}" if ep and ep.site else None

    # ---- listeners on node addresses ------------------------------------------------
    def _on_node(self, what: str, agent: NodeAgent) -> None:
        info = agent.instance
        if what == "booted":
            inst = self._moto_instance(info.instance_id)
            meta = InstanceMetadata(
                instance_id=info.instance_id, instance_type=info.instance_type, az=info.az, region=info.region,
                account_id=ACCOUNT_ID, local_hostname=info.private_dns, local_ipv4=info.private_ip, spot=info.spot,
                ami_id=getattr(inst, "image_id", None) or "ami-0b0a8d8cbf1e0a5f1", launched_at=self.clock.isoformat(),
                **instance_facts(inst),
            )
            ep = _Endpoint(meta, agent.loopback, inst)
            self.instances[info.instance_id] = ep
            self._by_address[agent.loopback] = info.instance_id
            self._spawn(self._listen(ep))
        elif what == "down":
            ep = self.instances.pop(info.instance_id, None)
            if ep is not None:
                self._by_address.pop(ep.address, None)
                self._spawn(self._close(ep))

    def _moto_instance(self, instance_id: str) -> object | None:
        from cluster.sim.aws.moto_server import instance_by_id

        try:
            return instance_by_id(self.region, instance_id)
        except Exception:
            return None

    def _spawn(self, coro: object) -> None:
        task = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _listen(self, ep: _Endpoint) -> None:
        site = web.TCPSite(self._runner, ep.address, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            log.warning("imds_listen_failed", address=ep.address, port=self.port, error=str(exc))
            return
        ep.site = site

    async def _close(self, ep: _Endpoint) -> None:
        if ep.site is not None:
            await ep.site.stop()
            ep.site = None

    # ---- HTTP ------------------------------------------------------------------------
    @staticmethod
    def _tokens_required(ep: _Endpoint) -> bool:
        options = getattr(ep.instance, "metadata_options", None)
        return getattr(options, "http_tokens", "optional") == "required"

    async def _handle(self, request: web.Request) -> web.Response:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        iid = self._by_address.get(sockname[0]) if sockname else None
        ep = self.instances.get(iid) if iid else None
        if ep is None:
            return web.Response(status=404, text=NOT_FOUND_BODY, content_type="text/html")
        if request.path == TOKEN_PATH:
            return self._token(request, ep.meta.instance_id)
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, text="")
        token = request.headers.get(TOKEN_HEADER)
        if token is not None:
            owner = self._tokens.get(token)
            if owner is None or owner[0] != ep.meta.instance_id or owner[1] < _real_now():
                return web.Response(status=401, text="")
        elif self._tokens_required(ep):
            return web.Response(status=401, text="")
        self._refresh_credentials(ep)
        leaves = ep.meta.leaves()
        if self._shows_tags(leaves, request.path):
            self._refresh_tags(ep)
            leaves = ep.meta.leaves()
        status, body = answer(ep.meta, request.path, leaves)
        # IMDS answers text/plain, JSON documents included; its 404 page is HTML
        return web.Response(status=status, body=body.encode(), content_type="text/html" if status == 404 else "text/plain")

    @staticmethod
    def _shows_tags(leaves: dict[str, str | None], path: str) -> bool:
        """Whether the answer to `path` may show the instance's tags: anything but a leaf outside
        tags/ (NTH's polls of spot/instance-action and the events are such leaves, several a
        second per node; reading the tags from EC2 each time cost more than the answer)."""
        if not path.startswith(META):
            return False
        rel = path[len(META):].rstrip("/")
        return rel.startswith("tags") or rel not in leaves

    def _refresh_tags(self, ep: _Endpoint) -> None:
        """The instance's tags, as EC2 has them now, when InstanceMetadataTags is enabled."""
        options = getattr(ep.instance, "metadata_options", None)
        if getattr(options, "instance_metadata_tags", "disabled") == "enabled":
            with self._moto_lock:  # type: ignore[attr-defined]
                ep.meta.tags = {t["key"]: t["value"] for t in ep.instance.get_tags()}  # type: ignore[union-attr]
        else:
            ep.meta.tags = None

    def _refresh_credentials(self, ep: _Endpoint) -> None:
        """The role's credentials, issued by STS to the instance and rotated well before they
        expire (real time: clients compare the expiry with their own clock)."""
        if ep.meta.role is not None:
            now = datetime.now(UTC)
            expires = ep.meta.credentials and datetime.fromisoformat(ep.meta.credentials["Expiration"].replace("Z", "+00:00"))
            if not expires or expires - now < CREDENTIALS_REFRESH:
                with self._moto_lock:  # type: ignore[attr-defined]
                    issued = assume_instance_role(self.region, ep.meta.role, ep.meta.instance_id, int(CREDENTIALS_LIFETIME.total_seconds()))
                ep.meta.credentials = role_credentials(now, issued.access_key_id, issued.secret_access_key, issued.session_token,
                                                       issued.expiration.replace(tzinfo=UTC))

    def _token(self, request: web.Request, instance_id: str) -> web.Response:
        if request.method != "PUT":
            return web.Response(status=405, text="")
        if "X-Forwarded-For" in request.headers:
            return web.Response(status=403, text="")
        raw = request.headers.get(TTL_HEADER)
        try:
            ttl = int(raw) if raw is not None else 0
        except ValueError:
            ttl = 0
        if not 1 <= ttl <= MAX_TTL:
            return web.Response(status=400, text="")
        now = _real_now()  # a token's TTL is real seconds, as the client counts them, whatever the cluster's speed
        self._tokens = {t: v for t, v in self._tokens.items() if v[1] >= now}
        token = secrets.token_urlsafe(40)
        self._tokens[token] = (instance_id, now + ttl)
        return web.Response(status=200, text=token, headers={TTL_HEADER: str(ttl)})
