"""Figures of the encrypted store: autosave vs. a plaintext ORM write; 10,000 drafts listed, opened.

Targets (issue 4, not asserted here): autosave median ≤ 1.3 × the plaintext write, listing
10,000 drafts ≤ 200 ms. Every baseline runs in the same process, interleaved with its figure.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text

from tests.bench.figures import Figure
from tests.bench.stats import NS_PER_MS, median, p95

if TYPE_CHECKING:
    from desk.store.keys import KeyStore

PROCEDURES = ("tennyu-todoke", "kokuho-shutoku", "juminhyo-utsushi")
POSITION = "x_sodan_memo"
DESKS = ("counter-01", "counter-02", "desk-01", "desk-02", "kiosk-01")
MODES = {"counter-01": "counter", "counter-02": "counter", "desk-01": "desk",
         "desk-02": "desk", "kiosk-01": "kiosk"}

_TARO = {"family": "窓口", "given": "太郎"}
_TARO_KANA = {"family": "マドグチ", "given": "タロウ"}
_HANAKO = {"family": "窓口", "given": "花子"}
_HANAKO_KANA = {"family": "マドグチ", "given": "ハナコ"}
_ADDRESS = {"postal_code": "1000014", "prefecture": "東京都", "city": "千代田区",
            "town": "永田町", "jis_code": "131016"}

# A moving-in visit late in the interview: 50 answered items of fake data (the household is
# fictitious), in the shapes the interview engine stores (groups are lists of member dicts).
ANSWERS_50: dict[str, Any] = {
    "shimei": _TARO,
    "shimei_furigana": _TARO_KANA,
    "seinengappi": "1990-04-01",
    "seibetsu": "male",
    "zokugara": "setainushi",
    "jusho_yubinbango": "1000014",
    "jusho": _ADDRESS,
    "jusho_banchigohyoki": "1-7-1",
    "jusho_katagaki": "まどぐちハイツ101",
    "denwabango": "0312345678",
    "x_mail": "taro@example.jp",
    "setainushi_shimei": _TARO,
    "x_setainushi_honnin": True,
    "x_setai_in": [
        {"shimei": _HANAKO, "shimei_furigana": _HANAKO_KANA, "seinengappi": "1991-06-15",
         "zokugara": "tsuma", "seibetsu": "female"},
        {"shimei": {"family": "窓口", "given": "一郎"},
         "shimei_furigana": {"family": "マドグチ", "given": "イチロウ"},
         "seinengappi": "2023-05-01", "zokugara": "ko", "seibetsu": "male"},
    ],
    "ido_nengappi": "2026-10-01",
    "x_mae_jusho_yubinbango": "1000014",
    "x_mae_jusho": _ADDRESS,
    "x_mae_jusho_banchigohyoki": "1-7-1",
    "x_mae_jusho_katagaki": "まどぐちハイツ202",
    "honseki": "東京都千代田区永田町1-7",
    "hittosha_shimei": _TARO,
    "x_koseki_shurui": "tohon",
    "x_gaikokuseki": False,
    "x_kokugai_kara": False,
    "x_honnin": True,
    "x_shashin_tsuki_id": "menkyo",
    "kojin_bango": "621498320257",
    "x_kokin_koza_riyo": False,
    "koza": {"bank_code": "0001", "branch_code": "001", "account_type": "futsu",
             "account_number": "1234567", "holder_kana": "マドグチ　タロウ"},
    "x_shakai_hoken": False,
    "x_kokuho_kanyu": True,
    "x_kokuho_shutoku_riyu": "tennyu",
    "x_kokuho_shutoku_bi": "2026-10-01",
    "x_kanyu_nenkin": "kokumin",
    "x_nenkin_shutoku_riyu": "tennyu",
    "x_nenkin_shutoku_bi": "2026-10-01",
    "x_kodomo": True,
    "x_kodomo_dokyo": True,
    "x_nyusho_ji_shimei": {"family": "窓口", "given": "一郎"},
    "x_nyusho_ji_shimei_furigana": {"family": "マドグチ", "given": "イチロウ"},
    "x_nyusho_ji_seinengappi": "2023-05-01",
    "x_nyusho_kibo_bi": "2027-04-01",
    "x_hoiku_jiyu": "shuro",
    "x_haigusha_umu": True,
    "x_haigusha_shimei": _HANAKO,
    "x_inkan_kibo": True,
    "x_shomeisho_shurui": ["juminhyo", "inkan"],
    "x_tsusu": 2,
    "x_shiyo_mokuteki": "kinyu",
    "x_sodan_memo": "転入後の保育園の申込みについて、窓口で相談したい。平日の午前が都合よい。",
}


def _json_bytes(value: Any) -> bytes:
    # Exactly the serialization of desk.store.drafts, so both sides write the same bytes.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _ms(value: float) -> float:
    return value / NS_PER_MS


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- 1. autosave: DraftStore.save vs. the same ORM update in plaintext ------------------------


def _plain_twin(store_path: Path, plain_path: Path, draft_id: str) -> Engine:
    """A second file with the real store's drafts table (DDL as migrated) and a copy of one row.

    The copy's answers are the plaintext JSON; the engine is desk's own, so pragmas,
    durability and BEGIN IMMEDIATE are those of the store.
    """
    from desk.store.database import create_store_engine

    source = sqlite3.connect(store_path)
    try:
        ddl = [sql for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'drafts' AND sql IS NOT NULL"
            " ORDER BY type = 'table' DESC"  # the table before its indexes
        )]
        cursor = source.execute("SELECT * FROM drafts WHERE id = ?", (draft_id,))
        names = [d[0] for d in cursor.description]
        row = dict(zip(names, cursor.fetchone(), strict=True))
    finally:
        source.close()
    row["answers"] = _json_bytes(ANSWERS_50)
    engine = create_store_engine(plain_path)
    with engine.begin() as connection:
        for statement in ddl:
            connection.exec_driver_sql(statement)
        columns = ", ".join(names)
        marks = ", ".join(f":{n}" for n in names)
        connection.execute(text(f"INSERT INTO drafts ({columns}) VALUES ({marks})"),
                           row)
    return engine


def _plain_save(engine: Engine, draft_id: str, answers: dict[str, Any], position: str) -> None:
    """What DraftStore.save does, minus the data key and the seal."""
    from desk.errors import StoreError
    from desk.store.database import write_unit
    from desk.store.models import DraftRow

    with write_unit(engine) as session:
        row = session.get(DraftRow, draft_id)
        if row is None or row.status != "DRAFT":
            raise StoreError("store.not_editable")
        row.answers = _json_bytes(answers)
        row.record_version = row.record_version + 1
        row.position = position
        row.updated_at = _now()


def autosave(iterations: int = 200, warmup: int = 20) -> dict[str, Figure]:
    """`DraftStore.save` of a 50-item draft vs. the plaintext ORM update, alternating order."""
    from desk.store.drafts import DraftStore
    from desk.store.keys import MemoryKeyStore

    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-") as tmp:
        folder = Path(tmp)
        store = DraftStore(folder / "store.sqlite3", MemoryKeyStore())
        plain: Engine | None = None
        try:
            draft = store.create(PROCEDURES, life_event_id="hikkoshi-kita", mode="counter",
                                 desk_id="counter-01", position="shimei")
            store.save(draft.id, ANSWERS_50, POSITION)
            plain = _plain_twin(store.path, folder / "plain.sqlite3", draft.id)
            plain_engine = plain

            def sealed(answers: dict[str, Any]) -> None:
                store.save(draft.id, answers, POSITION)

            def clear(answers: dict[str, Any]) -> None:
                _plain_save(plain_engine, draft.id, answers, POSITION)

            samples: dict[str, list[int]] = {"sealed": [], "clear": []}
            sides: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
                ("sealed", sealed), ("clear", clear)]
            clock = time.perf_counter_ns
            for n in range(warmup + iterations):
                # One answer changes per save, as after each screen; both sides write it.
                answers = dict(ANSWERS_50, x_tsusu=1 + n % 5)
                # Alternate which side goes first, so neither always follows the other's fsync.
                for name, save in sides if n % 2 == 0 else sides[::-1]:
                    start = clock()
                    save(answers)
                    elapsed = clock() - start
                    if n >= warmup:
                        samples[name].append(elapsed)
            probe = sqlite3.connect(store.path)
            try:
                (sealed_len,) = probe.execute("SELECT length(answers) FROM drafts").fetchone()
            finally:
                probe.close()
        finally:
            store.close()
            if plain is not None:
                plain.dispose()

    sealed_ns, clear_ns = samples["sealed"], samples["clear"]
    return {
        "store_autosave_50_items_median": (_ms(median(sealed_ns)), "ms",
                                           _ms(median(clear_ns))),
        "store_autosave_50_items_p95": (_ms(p95(sealed_ns)), "ms", _ms(p95(clear_ns))),
        "store_autosave_50_items_bytes": (float(sealed_len), "bytes",
                                          float(len(_json_bytes(ANSWERS_50)))),
    }


# -- 2./3. a store of 10,000 drafts: listing and opening ---------------------------------------


def build_store(path: Path, keys: KeyStore, drafts: int, seed: int = 4) -> None:
    """Fill a new store with `drafts` sealed drafts, all but the first in one transaction.

    The first goes through `create` and `save`; the rest are sealed the same way (each its
    own data key wrapped by the device key, answers of 5 to 50 items under the store's own
    bindings, a ``draft.created`` audit entry chained to the one before) and inserted in
    bulk, because 10,000 durable commits would take longer than the whole benchmark. The
    chain is verified and a sample opened afterwards, so a change in how the store seals or
    chains shows here instead of silently measuring rows the store could not read.
    """
    from sqlalchemy import insert

    from desk.ids import new_reference_code, new_ulid
    from desk.store import audit, crypto
    from desk.store.database import write_unit
    from desk.store.drafts import DraftStore
    from desk.store.models import AuditRow, DraftRow

    rng = random.Random(seed)
    items = list(ANSWERS_50.items())
    store = DraftStore(path, keys)
    try:
        first = store.create(PROCEDURES, mode="counter", desk_id=DESKS[0], position="shimei")
        store.save(first.id, ANSWERS_50, POSITION)
        kek_id, kek = keys.current()
        codes = {first.reference_code}
        now = _now()
        rows: list[dict[str, Any]] = []
        for _ in range(drafts - 1):
            draft_id = new_ulid()
            desk_id = rng.choice(DESKS)
            version = rng.randint(1, 40)
            updated = now - dt.timedelta(seconds=rng.randint(0, 30 * 86400))
            code = new_reference_code()
            while code in codes:
                code = new_reference_code()
            codes.add(code)
            dek = crypto.new_key()
            answers = dict(items[: rng.randint(5, len(items))])
            rows.append({
                "id": draft_id, "procedure_ids": " ".join(PROCEDURES[: rng.randint(1, 3)]),
                "life_event_id": rng.choice((None, "hikkoshi-kita", "shussei")),
                "mode": MODES[desk_id], "desk_id": desk_id, "status": "DRAFT",
                "reference_code": code, "position": rng.choice(items)[0],
                "created_at": updated - dt.timedelta(minutes=rng.randint(1, 240)),
                "updated_at": updated, "record_version": version, "kek_id": kek_id,
                "wrapped_dek": crypto.wrap_key(kek, dek, store._dek_binding(draft_id, kek_id)),
                "answers": crypto.seal(dek, _json_bytes(answers),
                                       store._answers_binding(draft_id, version)),
                "uketsuke_bango": None, "received_at": None,
            })
        rows.sort(key=lambda r: r["created_at"])
        with write_unit(store.engine) as session:
            head = audit.head_in(session)
            seq, prev = head.seq, head.entry_hash
            entries: list[dict[str, Any]] = []
            for row in rows:
                seq += 1
                detail = json.dumps({"desk": row["desk_id"], "mode": row["mode"]},
                                    sort_keys=True, separators=(",", ":"))
                digest = audit.entry_hash(seq, row["created_at"], "system", "draft.created",
                                          row["id"], detail, prev)
                entries.append({"seq": seq, "at": row["created_at"], "actor": "system",
                                "action": "draft.created", "subject": row["id"],
                                "detail": detail, "prev_hash": prev, "entry_hash": digest})
                prev = digest
            session.execute(insert(DraftRow), rows)
            session.execute(insert(AuditRow), entries)
        check = store.audit_log().verify()
        if not check.ok:
            raise RuntimeError(f"bench store: audit chain broken at {check.first_broken}")
        for row in rng.sample(rows, min(len(rows), 5)):
            store.load(row["id"])
    finally:
        store.close()  # the last connection checkpoints the WAL into the file


def _select_summaries(connection: sqlite3.Connection) -> list[tuple[Any, ...]]:
    from desk.store.drafts import _SUMMARY_COLUMNS

    return connection.execute(
        f"SELECT {', '.join(_SUMMARY_COLUMNS)} FROM drafts WHERE status IN (?)"
        " ORDER BY updated_at DESC", ("DRAFT",)
    ).fetchall()


def large_store(drafts: int = 10_000, list_rounds: int = 30,
                open_rounds: int = 20) -> dict[str, Figure]:
    """Listing every draft of a 10,000-draft store, and opening it, vs. raw sqlite3."""
    from desk.store.drafts import DraftStore
    from desk.store.keys import MemoryKeyStore

    keys = MemoryKeyStore()
    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-") as tmp:
        path = Path(tmp) / "store.sqlite3"
        build_store(path, keys, drafts)
        file_bytes = path.stat().st_size
        clock = time.perf_counter_ns

        store = DraftStore(path, keys)
        raw = sqlite3.connect(path)
        try:
            listed = len(store.list_drafts(statuses=("DRAFT",)))  # warm-up, and the count
            _select_summaries(raw)
            list_ns: list[int] = []
            select_ns: list[int] = []
            for n in range(list_rounds):
                for side in (0, 1) if n % 2 == 0 else (1, 0):
                    start = clock()
                    if side == 0:
                        store.list_drafts(statuses=("DRAFT",))
                    else:
                        _select_summaries(raw)
                    (list_ns if side == 0 else select_ns).append(clock() - start)
        finally:
            raw.close()
            store.close()

        open_ns: list[int] = []
        check_ns: list[int] = []
        for n in range(open_rounds + 1):  # round 0 warms imports and the page cache
            for side in (0, 1) if n % 2 == 0 else (1, 0):
                start = clock()
                if side == 0:
                    opened = DraftStore(path, keys)
                    opened.list_drafts(limit=20)
                    elapsed = clock() - start
                    opened.close()
                else:
                    connection = sqlite3.connect(path)
                    (result,) = connection.execute("PRAGMA quick_check").fetchone()
                    elapsed = clock() - start
                    connection.close()
                    assert result == "ok"
                if n > 0:
                    (open_ns if side == 0 else check_ns).append(elapsed)

    return {
        "store_list_10k_drafts_median": (_ms(median(list_ns)), "ms", _ms(median(select_ns))),
        "store_list_10k_drafts_count": (float(listed), "drafts", None),
        "store_open_10k_drafts_median": (_ms(median(open_ns)), "ms", _ms(median(check_ns))),
        "store_10k_drafts_file_bytes": (float(file_bytes), "bytes", None),
    }
