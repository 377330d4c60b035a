"""Rows in Cube's shape for comparing a case's expected rows with an engine's, shared by the
scripts that run cubec's SQL on emulations (warehouse_check.py)."""
import datetime
import decimal


def norm(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (int, float, decimal.Decimal)):
        return f"{float(v):.6f}"
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    if isinstance(v, datetime.date):
        return v.strftime("%Y-%m-%dT00:00:00.000")
    s = str(v)
    try:
        if s and "T" not in s and ":" not in s:
            return f"{float(s):.6f}"
    except ValueError:
        pass
    return s


def shaped(columns, rows, alias_to_member):
    members = [alias_to_member.get(c, c) for c in columns]
    extra = []
    for i, m in enumerate(members):
        parts = m.split(".")
        if len(parts) == 3:
            base = ".".join(parts[:2])
            if base not in members and base not in [b for _, b in extra]:
                extra.append((i, base))
    out = []
    for r in rows:
        d = {m: norm(v) for m, v in zip(members, r)}
        for i, b in extra:
            d[b] = norm(r[i])
        out.append(sorted(d.items()))
    return sorted(out)


def expected_rows(rows):
    return sorted(sorted((k, norm(v)) for k, v in r.items()) for r in rows)
