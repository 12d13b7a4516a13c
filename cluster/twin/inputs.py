"""The twin's inputs, read as users keep them: an eksctl `ClusterConfig` file, manifest files and
directories (YAML or JSON, several documents per file, `List` objects unrolled, `helm template`
output as it is), and kustomize directories built by `kubectl kustomize` (kubectl's own
kustomize, not a copy of it).  Every object keeps where it came from, so a finding or a kind the
simulator cannot model is named with its file."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cluster.twin.node_groups import NodeGroupConfigError, twin_cluster
from cluster.user_yaml import YamlProblem, read_limited

Obj = dict[str, Any]
MAX_FILES_LOOKED_AT = 5000  # a manifests directory, not a file system
KUSTOMIZE_TIMEOUT_S = 60.0
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class TwinInputError(ValueError):
    """An input cannot be read; one line naming the file and the fix."""


SHOWN_CHARS = 120


def named(path: Path | str) -> str:
    """A path as an error line may echo it: one line, at most SHOWN_CHARS characters."""
    text = repr(str(path))
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


@dataclass(frozen=True)
class Sourced:
    """A Kubernetes object and the file (or kustomize directory) it came from."""

    obj: Obj
    source: str

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))


@dataclass
class TwinSources:
    """What the inputs hold: the Kubernetes objects, in the order given, and the eksctl ClusterConfigs
    (one given with --from-eksctl, or found among the manifests)."""

    objects: list[Sourced] = field(default_factory=list)
    cluster_configs: list[Sourced] = field(default_factory=list)

    def plain(self) -> list[Obj]:
        return [s.obj for s in self.objects]


def read_inputs(eksctl: Path | None = None, manifests: Sequence[Path] = (), kustomize: Sequence[Path] = (),
                kubectl: str | None = None) -> TwinSources:
    """Every input read, in order: the eksctl config, the manifests, then each kustomize build."""
    out = TwinSources()
    if eksctl is not None:
        docs = _documents(eksctl, "--from-eksctl")
        configs = [d for d in docs if d.kind == "ClusterConfig"]
        if not configs:
            raise TwinInputError(f"--from-eksctl {named(eksctl)}: no ClusterConfig in it (kind: ClusterConfig, apiVersion: eksctl.io/v1alpha5)")
        for cfg in configs:
            try:
                twin_cluster(cfg.obj)  # every group launchable, or one line now rather than a failed build
            except NodeGroupConfigError as exc:
                raise TwinInputError(f"--from-eksctl {named(eksctl)}: {exc}") from None
        out.cluster_configs += configs
    for path in manifests:
        _add(out, _manifests(path))
    for directory in kustomize:
        _add(out, kustomize_build(directory, kubectl))
    return out


def _add(out: TwinSources, docs: Iterable[Sourced]) -> None:
    for doc in docs:
        (out.cluster_configs if doc.kind == "ClusterConfig" else out.objects).append(doc)


KUSTOMIZE_API = "kustomize.config.k8s.io/"


def _manifests(path: Path) -> list[Sourced]:
    """A file's objects, or those of every manifest file under a directory (sorted, links not followed);
    a directory's kustomize files (Kustomization, Component) say how to build it, they are no objects."""
    if os.path.isdir(path):
        docs = [doc for f in manifest_files(path) for doc in _documents(f, "--manifests")]
        return [d for d in docs if not str(d.obj.get("apiVersion", "")).startswith(KUSTOMIZE_API)]
    if os.path.isfile(path):
        return _documents(path, "--manifests")
    raise TwinInputError(f"--manifests {named(path)}: not a manifest file and not a directory of them; give one of those")


def manifest_files(directory: Path) -> list[Path]:
    """The YAML and JSON files under `directory`, without following links; refused when the
    directory holds far more files than a cluster's manifests (`--manifests /`, a home directory)."""
    found, seen = [], 0
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        seen += len(files) + len(dirs)
        if seen > MAX_FILES_LOOKED_AT:
            raise TwinInputError(f"--manifests {named(directory)}: more than {MAX_FILES_LOOKED_AT} files below it; "
                                 "give the directory that holds the cluster's manifests")
        found += [Path(root) / f for f in files if os.path.splitext(f)[1] in MANIFEST_SUFFIXES]
    return sorted(found)


def _documents(path: Path, option: str) -> list[Sourced]:
    try:
        return parse_documents(read_limited(path), named(path))
    except YamlProblem as exc:
        raise TwinInputError(f"{named(path)}: {exc}") from None
    except OSError as exc:
        raise TwinInputError(f"{option} {named(path)}: cannot read it: {exc.strerror or exc}") from None


def parse_documents(text: str, source: str) -> list[Sourced]:
    """The objects of a YAML (or JSON) stream: every document with a kind, `List` items unrolled;
    empty documents and comments-only ones (helm's `---` between templates) are skipped."""
    try:
        docs = list(yaml.safe_load_all(text))
    except (yaml.YAMLError, RecursionError) as exc:
        raise TwinInputError(f"{source}: cannot read it as YAML: {(str(exc).splitlines() or ['too deeply nested'])[0]}") from None
    except (ValueError, OverflowError) as exc:  # an impossible date such as 2024-13-45, unquoted
        raise TwinInputError(f"{source}: a value reads as an impossible date or number ({str(exc)[:100]}); quote it") from None
    out = []
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == "List":
            out += [Sourced(i, source) for i in doc.get("items") or [] if isinstance(i, dict) and i.get("kind")]
        elif doc.get("kind"):
            out.append(Sourced(doc, source))
    return out


def kustomize_build(directory: Path, kubectl: str | None = None) -> list[Sourced]:
    """`kubectl kustomize DIR`'s objects: the overlay built by kubectl's own kustomize."""
    if not os.path.isdir(directory):
        raise TwinInputError(f"--kustomize {named(directory)}: not a directory (give the directory that holds kustomization.yaml)")
    tool = kubectl or shutil.which("kubectl")
    if tool is None:
        raise TwinInputError("--kustomize needs kubectl on the PATH (its `kubectl kustomize` builds the overlay); install kubectl, "
                             "or give the built output with --manifests")
    try:
        done = subprocess.run([tool, "kustomize", str(directory)], capture_output=True, text=True, timeout=KUSTOMIZE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise TwinInputError(f"--kustomize {named(directory)}: kubectl kustomize took over {KUSTOMIZE_TIMEOUT_S:g}s") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
        raise TwinInputError(f"--kustomize {named(directory)}: kubectl kustomize failed: {first}")
    return parse_documents(done.stdout, f"kustomize {named(directory)}")
