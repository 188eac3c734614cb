"""`sciml simulate --list` states each equation's default grid, domain length and dt."""

from sciml.cli import main


def test_list_shows_default_grid_length_and_dt(capsys):
    import sciml.solvers  # noqa: F401
    from sciml.solvers.registry import EQUATIONS

    assert main(["simulate", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    for name, spec in EQUATIONS.items():
        i = next(k for k, line in enumerate(out) if line.split()[:1] == [name])
        g = spec.default_grid
        want = (
            f"defaults: --grid {' '.join(map(str, g.shape))}  length "
            f"{' x '.join(f'{v:g}' for v in g.length)}  --dt {spec.default_dt:g}"
        )
        assert out[i + 1].strip() == want, (name, out[i + 1])
