"""sources, diff, check-updates and publish: from a build to a published tree."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from overlay.cli import args as common
from overlay.core import debian, log, paths, secrets
from overlay.core.errors import ExitCode, OverlayError
from overlay.core.runner import Runner
from overlay.definition.fields import At
from overlay.definition.parse import url
from overlay.manifest import model
from overlay.publish import archive, diff, publisher, retention, sources, updates
from overlay.publish.fetch import Fetcher
from overlay.publish.tree import Kind
from overlay.publish.trust import DEBIAN_KEYRING, Trust

SNAPSHOT_HINT = (
    "try an archive snapshot: --mirror https://snapshot.debian.org/archive/debian/<YYYYMMDDTHHMMSSZ>/ "
    "with --apt-max-age DAYS (see docs/publishing.md)"
)


def mirrors(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """--mirror and --security-mirror, checked like the definition's URLs (exit 2 when wrong)."""
    here = Path.cwd()
    return tuple(  # type: ignore[return-value]
        url(value, At(here, flag=flag, key=(key,))) if value is not None else None
        for value, flag, key in (
            (args.mirror, "--mirror", "mirror"),
            (args.security_mirror, "--security-mirror", "security_mirror"),
        )
    )


def _mirror_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mirror", help=f"Debian mirror (default: the manifest's, else {debian.DEFAULT_MIRROR})")
    p.add_argument(
        "--security-mirror",
        help=f"security mirror (default: the manifest's, else {debian.DEFAULT_SECURITY_MIRROR})",
    )
    p.add_argument(
        "--keyring",
        type=Path,
        action="append",
        metavar="PATH",
        help=f"verify Release files with this OpenPGP keyring instead of {DEBIAN_KEYRING}; repeatable",
    )
    p.add_argument(
        "--apt-proxy",
        metavar="URL",
        help="HTTP proxy for the mirror (default: the manifest's apt_proxy; give it when the manifest "
        "shows its credentials as ***)",
    )
    p.add_argument(
        "--apt-max-age",
        type=_days,
        metavar="DAYS",
        help="accept Release files up to DAYS days after their Date, past their Valid-Until "
        "(default: the manifest's apt_max_age)",
    )


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days, got '{text}'") from None
    if days < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more days, got {days}")
    return days


def _proxy(args: argparse.Namespace, data: model.BuildManifest) -> str | None:
    """--apt-proxy, else the build's; a manifest never keeps a proxy's credentials, so ask for them."""
    if args.apt_proxy is not None:
        return url(args.apt_proxy, At(Path.cwd(), flag="--apt-proxy", key=("apt_proxy",)))
    proxy = data.image.apt_proxy
    if proxy and secrets.redacted(proxy):
        raise OverlayError(
            f"the build went through {proxy}, whose credentials the manifest does not keep",
            hint="give the proxy again: --apt-proxy URL",
        )
    return proxy


def _trust(args: argparse.Namespace, data: model.BuildManifest) -> Trust:
    """How Release files are verified: --keyring, else Debian's; --apt-max-age, else the manifest's."""
    max_age = data.image.apt_max_age if args.apt_max_age is None else args.apt_max_age
    return Trust(Runner(), keyrings=tuple(args.keyring or [DEBIAN_KEYRING]), max_age=max_age)


def register_sources(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sources", help="download and verify the image's exact source packages")
    p.add_argument("manifest", type=Path, metavar="BUILD.json")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="where the bundle goes")
    _mirror_args(p)
    p.add_argument("--jobs", type=int, default=4, help="parallel downloads (default: 4)")
    p.add_argument("--json", action="store_true", help="print the index as JSON on stdout")
    p.set_defaults(handler=run_sources)


def run_sources(args: argparse.Namespace) -> int:
    data = model.load(args.manifest)
    mirror, security_mirror = mirrors(args)
    paths.check_output_dir(args.output, "-o")
    args.output.mkdir(parents=True, exist_ok=True)
    result = sources.collect(
        data,
        args.output,
        Fetcher(proxy=_proxy(args, data)),
        trust=_trust(args, data),
        mirror=mirror,
        security_mirror=security_mirror,
        jobs=args.jobs,
    )
    sources.write_bundle(result, args.output)
    if args.json:
        common.print_json(result.to_json())
    else:
        print("\n".join(archive.verified_lines(result.releases)))
        print(f"{result.tarball}: {len(result.fetched)} of {result.expected} source packages, verified")
        for m in result.missing:
            print(f"MISSING {m.name} {m.version}: {m.reason}")
    if result.missing:
        raise OverlayError(
            f"{len(result.missing)} of {result.expected} source packages are not on the mirror "
            f"(listed above and in {args.output / (result.name + '.sources.txt')})",
            hint=SNAPSHOT_HINT,
            code=ExitCode.FAILED,
        )
    return 0


def register_diff(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("diff", help="compare two build manifests; exit 3 when the content differs")
    p.add_argument("old", type=Path, metavar="A.build.json")
    p.add_argument("new", type=Path, metavar="B.build.json")
    p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    p.set_defaults(handler=run_diff)


def run_diff(args: argparse.Namespace) -> int:
    result = diff.compare(model.load(args.old), model.load(args.new))
    if args.json:
        common.print_json(result.to_json())
    else:
        print(diff.render(result))
    return int(ExitCode.DIFFERENT if result.differs else ExitCode.OK)


def register_check_updates(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check-updates",
        help="list installed packages with newer versions on the mirror (exit 0, 10 or 20)",
    )
    p.add_argument("manifest", type=Path, metavar="BUILD.json")
    _mirror_args(p)
    p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    p.set_defaults(handler=run_check_updates)


def run_check_updates(args: argparse.Namespace) -> int:
    data = model.load(args.manifest)
    mirror, security_mirror = mirrors(args)
    report = updates.check(
        data,
        Fetcher(proxy=_proxy(args, data)),
        trust=_trust(args, data),
        mirror=mirror,
        security_mirror=security_mirror,
    )
    if args.json:
        common.print_json(report.to_json())
    else:
        print(updates.render(report))
    return int(report.exit_code)


def _date(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYYMMDD, got '{text}'") from None


def register_publish(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("publish", help="publish a build into a cloud.debian.org-style tree with index.html")
    p.add_argument(
        "output",
        type=Path,
        nargs="?",
        metavar="OUTPUT_DIR",
        help="a build's output directory (omit: retention and page only)",
    )
    p.add_argument("--to", type=Path, required=True, dest="tree", metavar="TREE", help="the published tree")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument(
        "--daily", dest="kind", action="store_const", const=Kind.daily, help="a daily (default)"
    )
    kind.add_argument("--release", dest="kind", action="store_const", const=Kind.release, help="a release")
    p.add_argument("--force", action="store_true", help="publish even when the content did not change")
    p.add_argument(
        "--dry-run", action="store_true", help="say what would be published and deleted; change nothing"
    )
    p.add_argument(
        "--hide-after",
        type=int,
        default=retention.HIDE_AFTER_DAYS,
        metavar="DAYS",
        help=f"leave dailies this old out of index.html (default: {retention.HIDE_AFTER_DAYS})",
    )
    p.add_argument(
        "--delete-after",
        type=int,
        default=retention.DELETE_AFTER_DAYS,
        metavar="DAYS",
        help=f"delete dailies this old (default: {retention.DELETE_AFTER_DAYS}); releases are kept",
    )
    p.add_argument(
        "--date", type=_date, metavar="YYYYMMDD", help="publish as of this day (default: today, UTC)"
    )
    p.add_argument(
        "--json", action="store_true", help="the decisions and retention actions as JSON on stdout"
    )
    p.set_defaults(handler=run_publish, kind=Kind.daily)


def run_publish(args: argparse.Namespace) -> int:
    policy = retention.Policy(args.hide_after, args.delete_after)
    paths.check_output_dir(args.tree, "--to")
    outcome = publisher.publish(
        args.output,
        args.tree,
        args.kind,
        runner=Runner(),
        force=args.force,
        dry_run=args.dry_run,
        today=args.date,
        policy=policy,
    )
    if args.json:
        common.print_json(outcome.to_json())
        return 0
    for d in outcome.decisions:
        if d.publish and d.version:
            where = (
                f"{d.release}/daily/{d.version}"
                if outcome.kind is Kind.daily
                else f"{d.release}/{d.version}"
            )
            print(f"published {args.tree / where}: {d.reason}")
        else:
            print(f"{'would publish' if d.publish else 'not published'} ({d.release}): {d.reason}")
    for a in outcome.retention:
        if a.action == "delete" or outcome.dry_run:
            print(("would " if outcome.dry_run else "") + a.describe())
    if not outcome.dry_run:
        log.info(f"results page: {args.tree / 'index.html'}")
    return 0


REGISTER = [register_sources, register_diff, register_check_updates, register_publish]
