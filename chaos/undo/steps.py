"""Carrying out the undo log: one idempotent step per UndoOp, the same for the run's own rollback
and for `spotchaos cleanup` after a crash.  An intent without a result (the run died between the
intent and the answer) is undone by what the run tagged: the `spotchaos:run-id` tag on FIS
templates, experiments and roles, the owner on metadata notices."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console

from chaos.aws.faults import AwsFaults
from chaos.aws.metadata_mock import MetadataMock
from chaos.identity import RUN_ID_TAG, run_selector
from chaos.undo.log import Intent, UndoOp
from cluster.components.fis import TERMINAL_STATES
from cluster.endpoints import Endpoints

TEARDOWN_TIMEOUT = 300.0


class UndoImpossible(Exception):
    """The step cannot be carried out here (no metadata mock to reach, say); said, not retried."""


@dataclass
class Undoer:
    run_id: str
    faults: AwsFaults | None
    metadata: MetadataMock | None
    endpoints: Endpoints | None

    async def undo(self, intent: Intent) -> str:
        step: Callable[[Intent], object] = {
            UndoOp.STOP_FIS_EXPERIMENT: self._stop_experiment,
            UndoOp.DELETE_FIS_TEMPLATE: self._delete_template,
            UndoOp.DELETE_IAM_ROLE: self._delete_role,
            UndoOp.WITHDRAW_METADATA_NOTICE: self._withdraw,
            UndoOp.TEAR_DOWN_CLUSTER: self._tear_down,
            UndoOp.DELETE_LOAD_JOB: self._delete_load_job,
            UndoOp.CANCEL_RECLAIM: lambda i: "the reclaim was the run's own: it ended with the run",
            UndoOp.REPORT_ONLY: lambda i: str(i.params.get("note", "cannot be undone")),
        }[intent.undo]
        result = step(intent)
        if asyncio.iscoroutine(result):
            result = await result
        return str(result)

    def _aws(self) -> AwsFaults:
        if self.faults is None:
            raise UndoImpossible("no AWS connection")
        return self.faults

    async def _stop_experiment(self, intent: Intent) -> str:
        faults = self._aws()
        eid = intent.args.get("experiment_id")
        if eid:
            return f"{eid}: {await asyncio.to_thread(faults.stop_fis, eid)}"
        tagged = await asyncio.to_thread(faults.experiments_tagged, RUN_ID_TAG, self.run_id)
        live = [e for e, state in tagged if state not in TERMINAL_STATES]
        for e in live:
            await asyncio.to_thread(faults.stop_fis, e)
        return f"stopped {', '.join(live)} (found by tag)" if live else "no experiment of this run is running"

    async def _delete_template(self, intent: Intent) -> str:
        faults = self._aws()
        tid = intent.args.get("template_id")
        ids = [tid] if tid else await asyncio.to_thread(faults.templates_tagged, RUN_ID_TAG, self.run_id)
        results = [f"{t}: {await asyncio.to_thread(faults.delete_template, t)}" for t in ids]
        return "; ".join(results) or "no template of this run exists"

    async def _delete_role(self, intent: Intent) -> str:
        return f"{intent.args['role_name']}: {await asyncio.to_thread(self._aws().delete_role, intent.args['role_name'])}"

    async def _withdraw(self, intent: Intent) -> str:
        if self.metadata is None:
            raise UndoImpossible("the metadata mock (the simulator's control API) is not reachable")
        iid = intent.args["instance"]
        cleared = await self.metadata.withdraw(iid)
        return f"{iid}: withdrawn" if cleared else f"{iid}: nothing left to withdraw"

    async def _delete_load_job(self, intent: Intent) -> str:
        """The load's Job and its pods (by name, else every Job with the run's label there)."""
        from chaos.kube import load_jobs
        from chaos.kube.clients import api_client

        if self.endpoints is None:
            raise UndoImpossible("no cluster connection")
        api = api_client(self.endpoints)
        namespace = str(intent.args["namespace"])
        jobs = [(namespace, str(intent.args["job"]))] if intent.args.get("job") else \
            await asyncio.to_thread(load_jobs.jobs_labelled, api, run_selector(self.run_id), namespace)
        done = [await asyncio.to_thread(load_jobs.delete_job, api, ns, name) for ns, name in jobs]
        return "; ".join(done) or "no load Job of this run exists"

    async def _tear_down(self, intent: Intent) -> str:
        from chaos import provisioning as p
        from cluster.profiles import load_profile

        if self.endpoints is None:
            raise UndoImpossible("no cluster connection")
        args = intent.args
        profile = load_profile(args["profile"], args.get("cluster"), args.get("overrides") or {})
        endpoints = self.endpoints
        done = await asyncio.to_thread(p.teardown, profile, endpoints, TEARDOWN_TIMEOUT, Console(file=io.StringIO()), selector=run_selector(self.run_id))
        return f"{profile.name}: {len(done)} resources deleted"
