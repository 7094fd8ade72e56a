"""The pitch check's key logic on thousands of real tunes, transcribed perfectly.

    .venv/bin/python benchmarks/bench_scale.py [--tunes 1500] [--seed 0] [--cache /tmp/sori-scale-tunes.json]
        [--list N] [--chorales-only]

bench_dissonance measures the whole check on the 52 rendered tunes of pitch_set.py. Most sour notes it misses are
whole semitones the check calls in key, so this measures what comes after transcription alone, on far more tunes:
`dissonance.judge_notes` (the tuning reference, the scale read from what the tune keeps using, each note judged),
given a tune's written notes, in tune and steady, as if the tracker had heard every note right.

The tunes: every work of music21's Essen folksong, Ryan's Mammoth, O'Neill's and Aird's collections and the soprano
lines of its Bach chorales (the corpus ships inside music21's wheel), less those pitch_set.py may take for the set,
parsed once and cached (`--cache`: 12,710 works, 21 minutes on one core the first time, a second after), then
`--tunes` of them drawn with `--seed`. Each is cut as the set cuts its tunes (6-12 s at a tempo drawn over 60-200
BPM, moved so its notes last 0.1-2 s), and pitch_set's own error plans are applied to it: `out_of_key` (a tone
neither the tune nor its key uses, 1-3 semitones away), `detune100` (a semitone off, off the tune's tones and its
key's), `wrong_note` (onto another tone of the tune: a finding there is counted apart, it is no sour note). The key
is music21's analysis.

Two kinds of tune are told apart:
- the set's kind: no tone outside the key occurs only once (pitch_set.py keeps only these: a lone chromatic note
  cannot be told from a mistake);
- tunes with such a lone chromatic tone (a chromatic passing note, a secondary leading tone): a finding on it is
  the price of finding the same note when it is a mistake.

Printed: per kind of tune, per collection, per number of tones the tune uses and per key mode, the share of clean
tunes with a finding and of errors found (a finding on the error's note).

Then the chord rules of a mix (`voices: poly`), the same way: every four-part chorale of the corpus that the set's
mixes cannot take (about 300, pitch_set.held_out_chorales), cut as the set's are (8-12 s at 60-96 BPM, the alto
left out of every third), all voices' written notes judged together, with pitch_set's `out_of_key` (one note of an
inner voice moved to a tone no voice uses) and `detune50` plans: clean mixes flagged, wrong notes found, and which
rule let each missed one pass. `--chorales-only` prints this part alone (about a minute and a half). The exit
status is 0: these are measures, not targets.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import pitch_set
from pitch_set import (
    Melody,
    NoErrorPossible,
    _rng,
    _voice_events,
    corpus_candidates,
    cut,
    held_out_chorales,
    plan_variant,
    sounding,
)

from remaster.analysis.dissonance import (
    FOREIGN_HELD_S,
    TRIADS,
    CheckParams,
    _clashes,
    _completes_a_seventh,
    _fits,
    _in_the_mode,
    _overtone,
    _sounding_tones,
    heard_notes,
    judge_notes,
)
from remaster.analysis.notes import Note
from remaster.analysis.tuning import NAMES, grid_step, kept_pitch_classes

DEFAULT_CACHE = Path("/tmp/sori-scale-tunes.json")
COLLECTIONS = {"essen": "essenFolksong/", "ryans": "ryansMammoth/", "oneills": "oneills1850/", "airds": "airdsAirs/",
               "bach": "bach/"}
ERRORS = ("out_of_key", "detune100", "wrong_note")


def _key(score) -> tuple[int, str]:
    k = score.analyze("key")
    return int(k.tonic.pitchClass), str(k.mode)


def _works(group: str, path: Path):
    """(number or None, score) of each work in a corpus file: each tune of an ABC file (split on its `X:` lines, so
    that one tune music21 cannot read leaves out no other), or a chorale (four parts, the soprano on top)."""
    from music21 import converter

    if path.suffix == ".abc":
        for chunk in ("\n" + path.read_text(errors="replace")).split("\nX:")[1:]:
            number = chunk.split("\n", 1)[0].strip()
            try:
                yield (int(number) if number.isdigit() else None), converter.parse("X:" + chunk, format="abc")
            except Exception:     # one unreadable tune: left out
                continue
    else:
        score = converter.parse(path)
        if len(score.parts) >= 4:
            yield None, score


def parse_corpus(log=print) -> list[dict]:
    """Every work of the collections as {group, source, key, events}, less the set's candidates."""
    from music21 import corpus

    taken = {(p, n) for rows in corpus_candidates().values() for p, n in rows}
    full = {str(p).split("/corpus/")[1]: Path(p) for p in corpus.getPaths()}
    out = []
    started = last = time.perf_counter()
    for group, prefix in COLLECTIONS.items():
        files = sorted(p for p in full if p.startswith(prefix) and full[p].suffix in (".abc", ".mxl"))
        for k, rel in enumerate(files):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    for number, score in _works(group, full[rel]):
                        if {(rel, number), (rel, None), (rel.removesuffix(".mxl"), None)} & taken:
                            continue
                        part = score.parts[0] if score.parts else score
                        events = _voice_events(part)
                        if sum(e[2] is not None for e in events) >= 8:
                            out.append({"group": group, "source": rel + (f"#{number}" if number is not None else ""),
                                        "key": _key(score), "events": events})
                except Exception as e:    # a file music21 cannot read is left out, said once
                    log(f"  left out {rel}: {type(e).__name__}")
            if time.perf_counter() - last > 30 or k + 1 == len(files):
                last = time.perf_counter()
                log(f"  {group}: {k + 1}/{len(files)} files, {len(out)} tunes in all "
                    f"({time.perf_counter() - started:.0f} s)", flush=True)
    return out


def load(cache: Path, log=print) -> list[dict]:
    if cache.exists():
        return json.loads(cache.read_text())
    tunes = parse_corpus(log)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(tunes))
    tmp.replace(cache)
    return tunes


def melody(tune: dict, seed: int) -> Melody | None:
    """The tune cut as pitch_set.py cuts the set's (6-12 s, 60-200 BPM, notes of 0.1-2 s), or None."""
    phrase = cut([tuple(e) for e in tune["events"]], _rng(seed, tune["source"], "tempo").uniform(60, 200))
    if isinstance(phrase, str) or sum(not t.grace for t in phrase[0]) < 8:
        return None
    tones, bpm = phrase
    used = tuple(sorted({t.midi % 12 for t in tones if not t.grace}))
    tonic, mode = tune["key"]
    return Melody(tune["source"], tune["source"], "", "western", tune["group"], bpm, (0,),
                  tuple(tones), 4.0, "legato", tonic, mode, used)


def lone_chromatic(m: Melody) -> bool:
    """Whether a tone outside the tune's key occurs only once (the tunes pitch_set.py leaves out)."""
    return pitch_set.lone_chromatic(m.tones, m.tonic_pc, m.mode)


def written_notes(m: Melody, midi: list[int], cents: list[float]) -> list[Note]:
    """The check's notes for the written ones: in tune (but for `cents`), steady, all equally loud."""
    out = []
    for i, t in enumerate(m.tones):
        start = t.beat * m.spb
        length = sounding(m, i)
        out.append(Note(start, start + length, 100.0 * midi[i] + cents[i], length, 0.0, 0.0, 0.0, level_db=-20.0,
                        onset_db=12.0))
    return out


def judged_by_index(notes: list[Note], params: CheckParams) -> list[bool]:
    # one line (voices mono): judge_notes keeps the notes and their order
    return [f is not None for f in judge_notes(notes, params)[1]]


def score(tunes: list[Melody], seed: int) -> dict[str, dict]:
    """Per tune: whether its clean notes got a finding, and per error kind whether the error's note got one."""
    params = CheckParams()
    rows = {}
    for m in tunes:
        plain = [t.midi for t in m.tones]
        flags = judged_by_index(written_notes(m, plain, [0.0] * len(plain)), params)
        row = {"clean": any(flags), "flagged_pcs": sorted({plain[i] % 12 for i, f in enumerate(flags) if f})}
        for kind in ERRORS:
            try:
                plan = plan_variant(m, kind, seed)
            except NoErrorPossible:   # no note of the tune admits this error (no tone left to move it to)
                continue
            i = plan.errors[0]["index"]
            row[kind] = judged_by_index(written_notes(m, plan.midi, plan.cents), params)[i]
        rows[m.source] = row
    return rows


TUNE_COLUMNS = (("clean", "clean flagged", 15), ("out_of_key", "out_of_key found", 18),
                ("detune100", "detune100 found", 17), ("wrong_note", "wrong notes flagged", 20))
MIX_COLUMNS = (("clean", "clean flagged", 15), ("out_of_key", "out_of_key found", 18),
               ("detune50", "detune50 found", 17))


def table(tunes: list[Melody], rows: dict[str, dict], label, columns=TUNE_COLUMNS, unit: str = "tunes") -> None:
    """Per group of `label`: the share of rows that are true, per (key, header, width) of `columns`."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for m in tunes:
        groups[label(m)].append(rows[m.source])
    print(f"{'':34s}{unit:>6s}" + "".join(f" {header:>{width}s}" for _, header, width in columns))
    for name in sorted(groups):
        rs = groups[name]

        def rate(key: str, rs=rs) -> str:
            have = [r[key] for r in rs if key in r]
            return f"{sum(have):5d}/{len(have):<5d}{100 * sum(have) / len(have):5.1f}%" if have else f"{'-':>16s}"
        print(f"{name:34s}{len(rs):6d}" + "".join(f" {rate(key):>{width}s}" for key, _, width in columns))


# --------------------------------------------------------------------------------------------------------
# The chord rules of a mix (voices: poly), on the written voices of the chorales the set does not take
# --------------------------------------------------------------------------------------------------------

CHORALE_ERRORS = ("out_of_key", "detune50")


def _judged_poly(notes: list[Note], params: CheckParams) -> list[bool]:
    """Per written note, whether judge_notes (voices poly) has a finding on it (it returns the notes re-ordered)."""
    found, judged, _, _ = judge_notes(notes, params, voices="poly")
    flagged = {id(n) for n, f in zip(found, judged, strict=True) if f is not None}
    return [id(n) in flagged for n in notes]


def why_passed(notes: list[Note], i: int) -> str:
    """Which of the chord rules let the wrong note `i` of a mix pass (dissonance._stray, read rule by rule)."""
    n, params = notes[i], CheckParams()
    _, _, reference, scale = judge_notes(notes, params, voices="poly")
    tone = grid_step(n.centre, reference) % 12
    if n.duration < params.min_sour_s:
        return "held under min_sour_s"
    if scale is not None and _in_the_mode(tone, scale):
        return "a tone of the mode as read"
    if tone in kept_pitch_classes(heard_notes(notes, params.quiet_db), reference):
        return "a tone the mix keeps"
    if _overtone(n, notes, reference):
        return "on a partial of a note with it"
    if _clashes(n, notes, reference):
        return "clashes, yet passed"
    if n.duration < FOREIGN_HELD_S:
        return f"no clash, held under {FOREIGN_HELD_S} s"
    if scale is not None and tone in scale.pitch_classes:
        return "no clash, in key as the key was read"
    tones = _sounding_tones(n, notes, reference)
    if _fits(tones | {tone}, TRIADS):
        return "no clash, makes a triad"
    if _completes_a_seventh(tones, tone):
        return "no clash, completes a seventh chord"
    return "other"


def score_chorales(mixes: list[Melody], seed: int) -> dict[str, dict]:
    """Per mix: whether its clean notes got a finding (and on which tones), and per error kind whether the error's
    note got one, and why it passed where it did not."""
    params = CheckParams()
    rows = {}
    for m in mixes:
        plain = [t.midi for t in m.tones]
        flags = _judged_poly(written_notes(m, plain, [0.0] * len(plain)), params)
        row: dict = {"clean": any(flags), "flagged_pcs": sorted({plain[i] % 12 for i, f in enumerate(flags) if f})}
        for kind in CHORALE_ERRORS:
            try:
                plan = plan_variant(m, kind, seed)
            except NoErrorPossible:   # no note of the mix admits this error
                continue
            i = plan.errors[0]["index"]
            notes = written_notes(m, plan.midi, plan.cents)
            row[kind] = _judged_poly(notes, params)[i]
            if kind == "out_of_key" and not row[kind]:
                row["why"] = why_passed(notes, i)
        rows[m.source] = row
    return rows


def report_chorales(seed: int, list_n: int) -> None:
    t0 = time.perf_counter()
    mixes = held_out_chorales()
    t1 = time.perf_counter()
    rows = score_chorales(mixes, seed)
    print(f"\n=== the chord rules on written chorale mixes (judge_notes, voices poly): {len(mixes)} chorales the set"
          f" does not take, cut as its mixes ({t1 - t0:.0f} s), judged in {time.perf_counter() - t1:.1f} s")
    for label in (lambda m: "all", lambda m: f"{m.voices} voices",
                  lambda m: f"{len(m.pcs)} tones" if len(m.pcs) < 9 else "9+ tones"):
        table(mixes, rows, label, MIX_COLUMNS, "mixes")
    why = Counter(r["why"] for r in rows.values() if "why" in r)
    print("why an out_of_key note passed: " + ", ".join(f"{k} {v}" for k, v in why.most_common()))
    if list_n:
        print("clean mixes flagged (the tones flagged):")
        for m in [m for m in mixes if rows[m.source]["clean"]][:list_n]:
            print(f"  {m.source:40s} {[NAMES[p] for p in rows[m.source]['flagged_pcs']]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tunes", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--list", type=int, default=0, help="print this many flagged clean tunes and missed errors")
    parser.add_argument("--chorales-only", action="store_true", help="only the chord rules on the chorale mixes")
    args = parser.parse_args(argv)

    if args.chorales_only:
        report_chorales(args.seed, args.list)
        return 0
    t0 = time.perf_counter()
    corpus_tunes = load(args.cache)
    t1 = time.perf_counter()
    cut = [m for t in corpus_tunes if (m := melody(t, args.seed)) is not None]
    order = _rng(args.seed, "draw").permutation(len(cut))
    tunes = [cut[i] for i in order[:args.tunes]]
    rows = score(tunes, args.seed)
    t2 = time.perf_counter()
    print(f"{len(corpus_tunes)} works read ({t1 - t0:.0f} s), {len(cut)} cut to 6-12 s, {len(tunes)} drawn; "
          f"judged in {t2 - t1:.1f} s")
    print("\n=== the key logic on written notes (dissonance.judge_notes, style auto), by kind of tune")
    table(tunes, rows, lambda m: "lone chromatic tone" if lone_chromatic(m) else "the set's kind (none)")
    table(tunes, rows, lambda m: "all")
    print("\n=== by collection")
    table(tunes, rows, lambda m: m.group)
    print("\n=== by the number of tones the tune uses")
    table(tunes, rows, lambda m: f"{min(len(m.pcs), 9)}{'+' if len(m.pcs) >= 9 else ''} tones")
    print("\n=== by the key music21 reads")
    table(tunes, rows, lambda m: m.mode)
    if args.list:
        print("\nclean tunes flagged (the tones flagged; the key music21 reads):")
        for m in [m for m in tunes if rows[m.source]["clean"]][:args.list]:
            print(f"  {m.source:40s} {[NAMES[p] for p in rows[m.source]['flagged_pcs']]}  "
                  f"{NAMES[m.tonic_pc]} {m.mode}")
        print("out_of_key errors missed:")
        for m in [m for m in tunes if rows[m.source].get("out_of_key") is False][:args.list]:
            err = plan_variant(m, "out_of_key", args.seed).errors[0]
            print(f"  {m.source:40s} {NAMES[err['expected_midi'] % 12]} -> {NAMES[int(err['found_midi']) % 12]}"
                  f"  tune's tones {[NAMES[p] for p in m.pcs]}  {NAMES[m.tonic_pc]} {m.mode}")
    report_chorales(args.seed, args.list)
    return 0


if __name__ == "__main__":
    sys.exit(main())
