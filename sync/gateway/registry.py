"""A demo resident registry at the gateway: 基本４情報 matching that hides DV 支援措置 persons."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Boolean, Engine, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from desk.resources import resources_dir
from sync.gateway.models import Base, UtcDateTime, make_engine
from sync.protocol import ResidentCandidate, ResidentQuery

DEMO_REGISTRY_FILE = Path("data") / "demo-registry.json"
"""The obviously fake residents of the demo registry, under ``resources/``."""

# Only these two are removed before comparing names: the registry writes a full-width space
# between family and given name, staff may type a half-width one or none. Nothing else is
# folded (never NFKC): 髙 and 高, or a compatibility ideograph, are different names here.
_NAME_SPACES = str.maketrans("", "", " \u3000")


class RegistryResident(Base):
    """One person of the (demo) resident registry. ``suppressed`` never leaves the gateway."""

    __tablename__ = "registry_residents"
    __table_args__ = (Index("ix_registry_tenant_birth", "tenant_code", "seinengappi"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_code: Mapped[str] = mapped_column(String(6))
    shimei: Mapped[str] = mapped_column(String(100))
    shimei_furigana: Mapped[str] = mapped_column(String(100))
    seinengappi: Mapped[str] = mapped_column(String(10))
    seibetsu: Mapped[str] = mapped_column(String(1))
    jusho_yubinbango: Mapped[str] = mapped_column(String(7))
    jusho: Mapped[str] = mapped_column(String(200))
    jusho_choazakodo: Mapped[str | None] = mapped_column(String(7), nullable=True)
    # DV 支援措置 etc.: the person is withheld from every non-privileged lookup.
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)


class RegistryAction(StrEnum):
    """Action codes of registry audit entries."""

    MATCH = "residents.match"
    # A suppressed person matched and was withheld (the caller saw "not found").
    MATCH_WITHHELD = "residents.match.withheld"
    # A privileged caller was shown a suppressed person.
    MATCH_DISCLOSED = "residents.match.disclosed"


class RegistryAudit(Base):
    """Every registry lookup: when, which device, what kind of outcome. Never who was sought."""

    __tablename__ = "registry_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    tenant_code: Mapped[str] = mapped_column(String(6))
    device_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    results: Mapped[int] = mapped_column(Integer)


class Asker(Protocol):
    """Who asks: the parts of the authenticated caller the registry's rules need."""

    @property
    def tenant_code(self) -> str:
        """The caller's tenant; only its registry is searched."""

    @property
    def device_id(self) -> str:
        """The calling device, for the audit entry."""

    @property
    def privileged(self) -> bool:
        """Whether suppressed persons are shown (audited)."""


def _bare(name: str) -> str:
    return name.translate(_NAME_SPACES)


def _matches(row: RegistryResident, query: ResidentQuery) -> bool:
    if query.shimei is not None and _bare(row.shimei) == _bare(query.shimei):
        return True
    return query.shimei_furigana is not None and (
        _bare(row.shimei_furigana) == _bare(query.shimei_furigana)
    )


def _candidate(row: RegistryResident) -> ResidentCandidate:
    # Built field by field: the suppression flag has no place in the wire model.
    return ResidentCandidate(
        shimei=row.shimei,
        shimei_furigana=row.shimei_furigana,
        seinengappi=row.seinengappi,
        seibetsu=row.seibetsu,
        jusho_yubinbango=row.jusho_yubinbango,
        jusho=row.jusho,
        jusho_choazakodo=row.jusho_choazakodo,
    )


def match_residents(
    engine: Engine, query: ResidentQuery, *, caller: Asker, now: datetime
) -> list[ResidentCandidate]:
    """Find the registry entries of one person, withholding suppressed persons.

    A suppressed person is dropped from the result unless the caller is privileged. The work
    is the same whether or not such a person matched: the same query, the same comparisons,
    and one audit entry in every case, so that neither the answer nor its cost tells them apart.

    Args:
        engine: The gateway's (writing) engine: the audit entry shares the lookup's transaction.
        query: Birth date and name (kanji and/or furigana), optionally sex and postcode.
        caller: The caller's tenant, device and privilege.
        now: Server time (aware), for the audit entry.

    Returns:
        Candidates in registry order; empty when nobody (visible to this caller) matches.

    Raises:
        ValueError: When neither ``shimei`` nor ``shimei_furigana`` is given (the route checks
            this first and answers 400).
    """
    if query.shimei is None and query.shimei_furigana is None:
        raise ValueError("E0001")
    statement = select(RegistryResident).where(
        RegistryResident.tenant_code == caller.tenant_code,
        RegistryResident.seinengappi == query.seinengappi,
    )
    if query.seibetsu is not None:
        statement = statement.where(RegistryResident.seibetsu == query.seibetsu)
    if query.jusho_yubinbango is not None:
        statement = statement.where(RegistryResident.jusho_yubinbango == query.jusho_yubinbango)
    with Session(engine) as session, session.begin():
        rows = [row for row in session.scalars(statement.order_by(RegistryResident.id))
                if _matches(row, query)]
        visible = [row for row in rows if caller.privileged or not row.suppressed]
        hidden = any(row.suppressed for row in rows)
        if not hidden:
            action = RegistryAction.MATCH
        elif caller.privileged:
            action = RegistryAction.MATCH_DISCLOSED
        else:
            action = RegistryAction.MATCH_WITHHELD
        session.add(
            RegistryAudit(
                at=now,
                tenant_code=caller.tenant_code,
                device_id=caller.device_id,
                action=action.value,
                results=len(visible),
            )
        )
        return [_candidate(row) for row in visible]


def load_demo_residents(path: Path | None = None) -> list[dict[str, Any]]:
    """Read the demo registry seed file.

    Args:
        path: A JSON file with a ``residents`` list; the bundled one by default.

    Returns:
        One dict per resident with the registry's column names.
    """
    source = path or resources_dir() / DEMO_REGISTRY_FILE
    document = json.loads(source.read_text(encoding="utf-8"))
    residents: list[dict[str, Any]] = document["residents"]
    return residents


def seed_demo_registry(db: str | Engine, tenant_code: str, *, path: Path | None = None) -> int:
    """Load the fake demo residents into a tenant's registry; running it again adds nothing.

    A resident already present (same tenant, name, birth date and postcode) is left as it is.

    Args:
        db: A SQLAlchemy URL or the gateway's engine.
        tenant_code: The tenant whose registry receives the residents.
        path: Another seed file (default: ``resources/data/demo-registry.json``).

    Returns:
        How many residents were added.
    """
    engine = make_engine(db) if isinstance(db, str) else db
    try:
        mine = [Base.metadata.tables[name] for name in ("registry_residents", "registry_audit")]
        Base.metadata.create_all(engine, tables=mine)
        added = 0
        with Session(engine) as session, session.begin():
            for person in load_demo_residents(path):
                present = session.scalars(
                    select(RegistryResident.id).where(
                        RegistryResident.tenant_code == tenant_code,
                        RegistryResident.shimei == person["shimei"],
                        RegistryResident.seinengappi == person["seinengappi"],
                        RegistryResident.jusho_yubinbango == person["jusho_yubinbango"],
                    )
                ).first()
                if present is None:
                    session.add(RegistryResident(tenant_code=tenant_code, **person))
                    added += 1
        return added
    finally:
        if isinstance(db, str):
            engine.dispose()
