"""Conformance of sciml.mri masks with the fastMRI reference's algorithm.

Each expected mask is rebuilt here from explicit ``numpy.random.RandomState`` draws in the
documented order (acceleration choice, then the mask draws), the documented nlf rounding,
centre start, probability formula and offsets, without calling the code under test.
"""

import numpy as np
import pytest

from sciml.mri import MASK_KINDS, mask_func, seed_from_name

NAME = "file1000001.h5"


def centre(num_cols, nlf):
    m = np.zeros(num_cols, bool)
    start = (num_cols - nlf + 1) // 2
    m[start : start + nlf] = True
    return m


def test_seed_from_name_is_character_codes():
    assert seed_from_name("ab.h5") == (97, 98, 46, 104, 53)


@pytest.mark.parametrize("num_cols", [368, 37, 320])
def test_random_mask_matches_explicit_draws(num_cols):
    f = mask_func("random", [0.08], [4])
    mask, nlf = f((1, 640, num_cols, 2), seed=seed_from_name(NAME))

    rng = np.random.RandomState(seed_from_name(NAME))
    assert rng.randint(1) == 0  # the pair choice is drawn even with one pair
    expected_nlf = round(num_cols * 0.08)
    prob = (num_cols / 4 - expected_nlf) / (num_cols - expected_nlf)
    expected = (rng.uniform(size=num_cols) < prob) | centre(num_cols, expected_nlf)

    assert nlf == expected_nlf
    assert mask.shape == (1, 1, num_cols, 1)
    assert mask.dtype == np.float32
    np.testing.assert_array_equal(mask.reshape(-1), expected.astype(np.float32))


def test_paired_and_any_combination_choice_order():
    seed = 1234
    f = mask_func("random", [0.08, 0.04], [4, 8], seed=seed)
    _, nlf = f((1, 100, 320, 2))
    rng = np.random.RandomState(seed)
    choice = rng.randint(2)
    assert nlf == round(320 * [0.08, 0.04][choice])

    f = mask_func("random", [0.08, 0.04, 0.1], [4, 8], seed=seed, allow_any_combination=True)
    mask, nlf = f((1, 100, 320, 2))
    rng = np.random.RandomState(seed)
    cf = rng.choice([0.08, 0.04, 0.1])
    acc = rng.choice([4, 8])
    n = round(320 * cf)
    expected = (rng.uniform(size=320) < (320 / acc - n) / (320 - n)) | centre(320, n)
    assert nlf == n
    np.testing.assert_array_equal(mask.reshape(-1), expected)


def test_equispaced_offsets_and_spacing():
    f = mask_func("equispaced", [0.08], [4], seed=7)
    mask, nlf = f((1, 10, 100, 2))
    rng = np.random.RandomState(7)
    rng.randint(1)
    offset = rng.randint(0, 4)
    expected = np.zeros(100, bool)
    expected[offset::4] = True
    np.testing.assert_array_equal(mask.reshape(-1), expected | centre(100, 8))
    assert nlf == 8

    # A given offset consumes no draw: the stream continues exactly as without it.
    f1 = mask_func("equispaced", [0.08], [4], seed=3)
    mask, _ = f1((1, 10, 100, 2), offset=1)
    expected = np.zeros(100, bool)
    expected[1::4] = True
    np.testing.assert_array_equal(mask.reshape(-1), expected | centre(100, 8))
    rng = np.random.RandomState(3)
    rng.randint(1)
    assert f1.rng.randint(1000) == rng.randint(1000)


@pytest.mark.parametrize("num_cols", [368, 321])
def test_equispaced_fraction_matches_formula(num_cols):
    f = mask_func("equispaced_fraction", [0.08], [4])
    mask, _ = f((1, 640, num_cols, 2), seed=seed_from_name(NAME))
    rng = np.random.RandomState(seed_from_name(NAME))
    rng.randint(1)
    n = round(num_cols * 0.08)
    adj = 4 * (n - num_cols) / (n * 4 - num_cols)
    offset = rng.randint(0, round(adj))
    expected = centre(num_cols, n)
    expected[np.around(np.arange(offset, num_cols - 1, adj)).astype(int)] = True
    np.testing.assert_array_equal(mask.reshape(-1), expected)
    # The spacing is chosen so that the total is about W / acc.
    assert abs(mask.sum() - num_cols / 4) <= 3


def test_magic_mask_hand_computed():
    # W = 15, acc 4, offset 0: positive half (8) gets columns 1, 5; negative half (7) gets
    # 2, 6 reversed -> 4, 0; concatenated ones at 1, 5, 8, 12; fftshift (roll by 7) -> 0, 4, 8, 12.
    # Centre: nlf = round(15 * 0.08) = 1 at (15 - 1 + 1) // 2 = 7.
    f = mask_func("magic", [0.08], [4], seed=0)
    mask, nlf = f((1, 4, 15, 2), offset=0)
    expected = np.zeros(15)
    expected[[0, 4, 7, 8, 12]] = 1
    np.testing.assert_array_equal(mask.reshape(-1), expected)
    assert nlf == 1
    # Odd offset 1: positive at 3, 7; negative at 0, 4 reversed (len 7) -> 6, 2.
    mask, _ = f((1, 4, 15, 2), offset=1)
    x = np.zeros(15)
    x[[3, 7, 8 + 2, 8 + 6]] = 1
    expected = np.roll(x, 7)
    expected[7] = 1
    np.testing.assert_array_equal(mask.reshape(-1), expected)


def magic_columns(num_cols, acc, offset):
    """Offset sampling as documented: even offsets put the positive half at offset + 1 and the
    negative half at offset + 2, odd ones at offset + 2 and offset - 1; the negative half is
    reversed, the halves concatenated and fftshifted."""
    pos_off, neg_off = (offset + 1, offset + 2) if offset % 2 == 0 else (offset + 2, offset - 1)
    half = (num_cols + 1) // 2
    pos = np.zeros(half, bool)
    neg = np.zeros(num_cols - half, bool)
    pos[pos_off::acc] = True
    neg[neg_off::acc] = True
    return np.roll(np.concatenate([pos, neg[::-1]]), num_cols // 2)


def test_magic_offset_draw_and_fraction_budget():
    expected = np.zeros(15, bool)
    expected[[0, 4, 8, 12]] = True
    np.testing.assert_array_equal(magic_columns(15, 4, 0), expected)

    f = mask_func("magic", [0.08], [4], seed=11)
    mask, nlf = f((1, 4, 64, 2))
    rng = np.random.RandomState(11)
    rng.randint(1)
    offset = rng.randint(0, 4)
    np.testing.assert_array_equal(
        mask.reshape(-1).astype(bool), magic_columns(64, 4, offset) | centre(64, nlf)
    )

    # magic_fraction: nlf 29 of 368, budget round(368/4) = 92, spacing round(368/63) = 6.
    f = mask_func("magic_fraction", [0.08], [4], seed=5)
    mask, nlf = f((1, 4, 368, 2))
    assert nlf == 29
    rng = np.random.RandomState(5)
    rng.randint(1)
    offset = rng.randint(0, 6)
    np.testing.assert_array_equal(
        mask.reshape(-1).astype(bool), magic_columns(368, 6, offset) | centre(368, 29)
    )


def test_seeded_call_restores_the_stream():
    a = mask_func("random", [0.08], [4], seed=42)
    b = mask_func("random", [0.08], [4], seed=42)
    first_a, _ = a((1, 8, 64, 2))
    first_b, _ = b((1, 8, 64, 2))
    v1, _ = a((1, 8, 64, 2), seed=seed_from_name(NAME))
    v2, _ = a((1, 8, 64, 2), seed=seed_from_name(NAME))
    np.testing.assert_array_equal(v1, v2)  # same volume seed -> same mask on every slice
    np.testing.assert_array_equal(a((1, 8, 64, 2))[0], b((1, 8, 64, 2))[0])
    np.testing.assert_array_equal(first_a, first_b)


def test_sample_is_the_same_draws_and_random_rate():
    f = mask_func("random", [0.08], [4])
    m1, n1 = f.sample(368, seed=(1, 2, 3))
    m2, n2 = f((2, 15, 640, 368, 2), seed=(1, 2, 3))
    np.testing.assert_array_equal(m1, m2.reshape(-1))
    assert n1 == n2
    f = mask_func("random", [0.08], [4], seed=0)
    counts = [f.sample(368)[0].sum() for _ in range(300)]
    assert abs(np.mean(counts) - 368 / 4) < 2.0


def test_every_kind_builds_and_keeps_the_centre():
    for kind in MASK_KINDS:
        mask, nlf = mask_func(kind, [0.08], [4], seed=0)((1, 4, 128, 2))
        assert mask.shape == (1, 1, 128, 1)
        assert mask.reshape(-1)[centre(128, nlf)].all()
        assert 128 / 8 < mask.sum() < 128 / 2


def test_mask_errors():
    with pytest.raises(ValueError, match=r"same length.*allow_any_combination"):
        mask_func("random", [0.08, 0.04], [4])
    with pytest.raises(ValueError, match=r"leaving no lines to sample"):
        mask_func("random", [0.3], [4])((1, 4, 128, 2))
    with pytest.raises(ValueError, match=r"leaving no lines to sample"):
        mask_func("equispaced_fraction", [0.5], [4])((1, 4, 128, 2))
    with pytest.raises(ValueError, match=r"leaving no lines to sample"):
        mask_func("magic_fraction", [0.5], [4])((1, 4, 128, 2))
    with pytest.raises(ValueError, match=r"centre fractions in \(0, 1\), found 1.0"):
        mask_func("equispaced", [1.0], [4])
    with pytest.raises(ValueError, match=r"mask kind: expected one of random"):
        mask_func("poisson", [0.08], [4])
    with pytest.raises(ValueError, match=r"integer accelerations"):
        mask_func("equispaced", [0.08], [4.5])
    with pytest.raises(ValueError, match=r"at least 3 axes"):
        mask_func("random", [0.08], [4])((640, 368))


def test_seeded_masks_are_thread_safe_and_mask_funcs_pickle():
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    f = mask_func("random", [0.08], [4], seed=0)
    names = [f"file{1000000 + i}.h5" for i in range(64)]
    expected = [
        mask_func("random", [0.08], [4]).sample(368, seed=seed_from_name(n))[0] for n in names
    ]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda n: f.sample(368, seed=seed_from_name(n))[0], names * 4))
    for g, e in zip(got, expected * 4):
        np.testing.assert_array_equal(g, e)
    clone = pickle.loads(pickle.dumps(f))
    np.testing.assert_array_equal(clone.sample(368)[0], f.sample(368)[0])
