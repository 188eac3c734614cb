"""Triangle meshes of a few 2-D domains: Delaunay triangulation of boundary-conforming points.

Every generator follows the same recipe (:func:`mesh_polygon_domain`):

1. the boundary is a set of closed polygons (outer loop and holes) subdivided into segments no
   longer than the local mesh size; each segment carries a tag ("left", "hole", "airfoil"...);
2. interior points fill the domain on hexagonal lattices whose spacing follows a size function
   ``size(x)`` (graded meshes: finer lattices where ``size`` is small), keeping a distance of
   about half a mesh size from the boundary;
3. a few force-equilibrium iterations (Persson and Strang's DistMesh, 2004: edges act as
   springs that only push, towards the target length ``size`` at their midpoint) even out the
   interior points; boundary points never move;
4. ``scipy.spatial.Delaunay`` of all points, and removal of the triangles whose centroid lies
   outside the domain (in a hole, an airfoil or the notch of the L);
5. a conformity check: the boundary edges of the result must be exactly the input segments
   (otherwise the triangulation cut a corner of the domain, and a ``ValueError`` asks for a
   smaller mesh size). The mesh then covers the polygon domain exactly: the sum of triangle
   areas equals the polygon area to round-off.

All domains are polygons (a hole is a regular polygon, the airfoil a polyline through the NACA
profile), so the finite-element problem is posed on the polygon exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sciml.solvers.fem.mesh import TriMesh
from scipy.spatial import Delaunay

Loop = tuple[np.ndarray, Sequence[str]]  # polygon vertices (k, 2) and one tag per segment


# ------------------------------------------------------------------------------- geometry


def subdivide(corners: np.ndarray, tags: Sequence[str], size: float) -> Loop:
    """Split each side ``corners[i] -> corners[i + 1]`` of a closed polygon into equal pieces no
    longer than ``size``; the pieces keep the side's tag."""
    corners = np.asarray(corners, np.float64)
    pts, out_tags = [], []
    for i in range(len(corners)):
        a, b = corners[i], corners[(i + 1) % len(corners)]
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / size - 1e-9)))
        s = np.arange(n)[:, None] / n
        pts.append(a + s * (b - a))
        out_tags += [tags[i]] * n
    return np.concatenate(pts), out_tags


def polygon_area(vertices: np.ndarray) -> float:
    """Signed area (shoelace); positive for counter-clockwise vertices."""
    x, y = vertices[:, 0], vertices[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _segments(loops: Sequence[Loop]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """All boundary points, segments (index pairs) and segment tags of the loops."""
    pts, segs, seg_tags, names = [], [], [], []
    offset = 0
    for verts, tags in loops:
        k = len(verts)
        if len(tags) != k:
            raise ValueError(f"loop: {k} vertices but {len(tags)} segment tags; one tag per side")
        idx = offset + np.arange(k)
        pts.append(np.asarray(verts, np.float64))
        segs.append(np.stack([idx, np.roll(idx, -1)], axis=1))
        for t in tags:
            if t not in names:
                names.append(t)
        seg_tags.append([names.index(t) for t in tags])
        offset += k
    return np.concatenate(pts), np.concatenate(segs), np.concatenate(seg_tags), names


def inside(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Even-odd rule: True for points inside the region bounded by segments ``a[i] -> b[i]``."""
    x, y = points[:, 0:1], points[:, 1:2]
    ay, by = a[None, :, 1], b[None, :, 1]
    crosses = (ay > y) != (by > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = a[None, :, 0] + (y - ay) * (b[None, :, 0] - a[None, :, 0]) / (by - ay)
    return (np.sum(crosses & (x < xc), axis=1) % 2) == 1


def distance_to_segments(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance from each point ``(P, 2)`` to the nearest segment ``a[i] -> b[i]``."""
    out = np.empty(points.shape[0])
    d = b - a
    dd = np.maximum(np.sum(d * d, axis=1), 1e-300)
    for start in range(0, points.shape[0], 2048):
        p = points[start : start + 2048, None, :]
        s = np.clip(np.sum((p - a) * d, axis=-1) / dd, 0.0, 1.0)
        out[start : start + 2048] = np.sqrt(np.min(np.sum((p - a - s[..., None] * d) ** 2, -1), 1))
    return out


def _hex_lattice(lo: np.ndarray, hi: np.ndarray, spacing: float) -> np.ndarray:
    dy = spacing * np.sqrt(3.0) / 2.0
    ys = np.arange(lo[1], hi[1] + dy, dy)
    xs = np.arange(lo[0], hi[0] + spacing, spacing)
    gx, gy = np.meshgrid(xs, ys)
    gx = gx + 0.5 * spacing * (np.arange(len(ys)) % 2)[:, None]
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


# ------------------------------------------------------------------------------- the recipe


def mesh_polygon_domain(
    loops: Sequence[Loop],
    h: float,
    *,
    size: Callable[[np.ndarray], np.ndarray] | None = None,
    iterations: int = 20,
    name: str = "mesh",
) -> TriMesh:
    """Triangulate the polygon domain bounded by ``loops`` (see the module docstring).

    Args:
      loops: closed polygons (outer boundary and holes, either orientation), each as vertices
        ``(k, 2)`` already subdivided to the local mesh size (:func:`subdivide`) and one tag per
        segment ``i -> i + 1``.
      h: target mesh size (length units) where ``size`` is not given.
      size: target edge length as a function of position ``(P, 2) -> (P,)`` (graded meshes);
        default the constant ``h``.
      iterations: DistMesh smoothing iterations of the interior points.

    Returns:
      A validated :class:`TriMesh` whose boundary edges are exactly the loop segments.
    """
    if not h > 0:
        raise ValueError(f"h: expected a positive mesh size, found {h}")
    bpts, segs, seg_tags, names = _segments(loops)
    a, b = bpts[segs[:, 0]], bpts[segs[:, 1]]

    def size_fn(p: np.ndarray) -> np.ndarray:
        return np.full(p.shape[0], h) if size is None else np.minimum(size(p), h)

    lo, hi = bpts.min(0), bpts.max(0)
    h_min = float(np.min(size_fn(np.concatenate([bpts, 0.5 * (a + b)]))))
    if (hi - lo).min() / h_min > 2000:
        raise ValueError(f"h: mesh size {h_min:g} too small for a domain of extent {hi - lo}")
    candidates = []
    level_h = h_min
    while True:
        lat = _hex_lattice(lo, hi, level_h)
        s = size_fn(lat)
        last = level_h * 2 > h * (1 + 1e-9)
        keep = (s < 2 * level_h) if level_h == h_min else (s >= level_h) & (s < 2 * level_h)
        if last:
            keep = s >= level_h if level_h != h_min else np.ones(len(lat), bool)
        candidates.append(lat[keep])
        if last:
            break
        level_h *= 2
    pts = np.concatenate(candidates)
    pts = pts[inside(pts, a, b)]
    pts = pts[distance_to_segments(pts, a, b) >= 0.55 * size_fn(pts)]

    for _ in range(iterations):
        pts = _distmesh_step(bpts, pts, a, b, size_fn)

    for _ in range(10):  # recover missing boundary segments (Ruppert-style)
        allp = np.concatenate([bpts, pts])
        tri = Delaunay(allp).simplices
        tri = tri[inside(allp[tri].mean(axis=1), a, b)]
        t = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
        present = set((t[:, 0] * allp.shape[0] + t[:, 1]).tolist())
        sk = np.sort(segs, axis=1)
        missing = np.array([k not in present for k in (sk[:, 0] * allp.shape[0] + sk[:, 1])])
        if not missing.any():
            break
        # interior points inside the diametral circle of a missing segment block it: drop them;
        # a segment blocked by boundary points only is split at its midpoint
        mid = 0.5 * (a[missing] + b[missing])
        rad = 0.5 * np.linalg.norm(b[missing] - a[missing], axis=1)
        d = np.linalg.norm(pts[:, None] - mid[None], axis=-1) if pts.size else np.zeros((0, 1))
        blocked = d < rad[None] * (1 + 1e-9)
        pts = pts[~blocked.any(axis=1)]
        split = np.flatnonzero(missing)[~blocked.any(axis=0)]
        if split.size:
            new_idx = bpts.shape[0] + np.arange(split.size)
            bpts = np.concatenate([bpts, 0.5 * (a[split] + b[split])])
            tail = np.stack([new_idx, segs[split, 1]], axis=1)
            segs = segs.copy()
            segs[split, 1] = new_idx
            segs = np.concatenate([segs, tail])
            seg_tags = np.concatenate([seg_tags, seg_tags[split]])
            a, b = bpts[segs[:, 0]], bpts[segs[:, 1]]
    else:
        raise ValueError(
            f"mesh {name!r}: the Delaunay triangulation does not conform to the boundary at mesh "
            f"size h={h:g} ({int(missing.sum())} boundary segments missing); choose a smaller h"
        )
    allp = np.concatenate([bpts, pts])
    return TriMesh.from_arrays(
        allp, tri, boundary_edges=segs, boundary_tags=seg_tags, tag_names=names, name=name
    )


def _distmesh_step(bpts, pts, a, b, size_fn, dt: float = 0.2):
    """One DistMesh force step on the interior points ``pts`` (boundary points fixed)."""
    if pts.shape[0] == 0:
        return pts
    allp = np.concatenate([bpts, pts])
    tri = Delaunay(allp).simplices
    tri = tri[inside(allp[tri].mean(axis=1), a, b)]
    e = np.unique(
        np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), 1), axis=0
    )
    vec = allp[e[:, 0]] - allp[e[:, 1]]
    length = np.linalg.norm(vec, axis=1)
    target = size_fn(0.5 * (allp[e[:, 0]] + allp[e[:, 1]]))
    target = target * 1.2 * np.sqrt(np.sum(length**2) / np.sum(target**2))
    force = np.maximum(target - length, 0.0)[:, None] * vec / length[:, None]
    total = np.zeros_like(allp)
    np.add.at(total, e[:, 0], force)
    np.add.at(total, e[:, 1], -force)
    nb = bpts.shape[0]
    moved = pts + dt * total[nb:]
    ok = inside(moved, a, b) & (distance_to_segments(moved, a, b) >= 0.3 * size_fn(moved))
    return np.where(ok[:, None], moved, pts)


# ------------------------------------------------------------------------------- domains


def rectangle(
    nx: int,
    ny: int,
    *,
    length: Sequence[float] = (1.0, 1.0),
    origin: Sequence[float] = (0.0, 0.0),
) -> TriMesh:
    """Structured mesh of a rectangle: ``nx x ny`` cells, each cut into two triangles.

    Boundary tags ``"left"``, ``"right"``, ``"bottom"``, ``"top"``. Nodes are ordered x fastest:
    node ``j * (nx + 1) + i`` sits at ``origin + (i * Lx / nx, j * Ly / ny)``.
    """
    if nx < 1 or ny < 1:
        raise ValueError(f"rectangle: expected nx, ny >= 1 cells, found {nx}, {ny}")
    x = origin[0] + np.linspace(0, length[0], nx + 1)
    y = origin[1] + np.linspace(0, length[1], ny + 1)
    gx, gy = np.meshgrid(x, y)
    nodes = np.stack([gx.ravel(), gy.ravel()], 1)
    idx = np.arange((nx + 1) * (ny + 1)).reshape(ny + 1, nx + 1)
    p00, p10 = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    p01, p11 = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    tri = np.concatenate([np.stack([p00, p10, p11], 1), np.stack([p00, p11, p01], 1)])
    bottom = np.stack([idx[0, :-1], idx[0, 1:]], 1)
    right = np.stack([idx[:-1, -1], idx[1:, -1]], 1)
    top = np.stack([idx[-1, 1:], idx[-1, :-1]], 1)
    left = np.stack([idx[1:, 0], idx[:-1, 0]], 1)
    edges = np.concatenate([left, right, bottom, top])
    tags = np.repeat(np.arange(4), [len(left), len(right), len(bottom), len(top)])
    return TriMesh.from_arrays(
        nodes,
        tri,
        boundary_edges=edges,
        boundary_tags=tags,
        tag_names=("left", "right", "bottom", "top"),
        name="rectangle",
    )


def rectangle_with_hole(
    h: float = 0.1,
    *,
    length: Sequence[float] = (2.0, 1.0),
    center: Sequence[float] = (0.6, 0.5),
    radius: float = 0.2,
    hole_h: float | None = None,
) -> TriMesh:
    """The rectangle ``[0, Lx] x [0, Ly]`` minus a disc (a regular polygon with sides <= hole_h).

    Tags: ``"left"``, ``"right"``, ``"bottom"``, ``"top"`` and ``"hole"``. ``hole_h`` (default
    ``h / 2``) is the mesh size on the hole; it grows linearly to ``h`` away from it.
    """
    lx, ly = (float(v) for v in length)
    c = np.asarray(center, np.float64)
    if not (radius > 0 and radius < c[0] < lx - radius and radius < c[1] < ly - radius):
        raise ValueError(
            f"rectangle_with_hole: the hole (center {tuple(c)}, radius {radius}) must lie inside "
            f"the rectangle [0, {lx}] x [0, {ly}] with positive radius"
        )
    hh = h / 2 if hole_h is None else float(hole_h)
    outer = subdivide(
        np.array([[0, 0], [lx, 0], [lx, ly], [0, ly]], float), ["bottom", "right", "top", "left"], h
    )
    n = max(8, int(np.ceil(2 * np.pi * radius / hh)))
    ang = 2 * np.pi * np.arange(n) / n
    hole = (c + radius * np.stack([np.cos(ang), np.sin(ang)], 1), ["hole"] * n)

    def size(p):
        return hh + 0.3 * np.maximum(np.linalg.norm(p - c, axis=1) - radius, 0)

    return mesh_polygon_domain([outer, hole], h, size=size, name="rectangle-hole")


def l_shape(h: float = 0.1) -> TriMesh:
    """The L-shaped domain ``[-1, 1]^2`` minus ``(0, 1] x (0, 1]`` (area 3, re-entrant corner at
    the origin). All boundary edges are tagged ``"boundary"``."""
    corners = np.array([[-1, -1], [1, -1], [1, 0], [0, 0], [0, 1], [-1, 1]], float)
    return mesh_polygon_domain([subdivide(corners, ["boundary"] * 6, h)], h, name="l-shape")


def naca4(code: str = "0012", spacing: float = 0.02, *, chord: float = 1.0) -> np.ndarray:
    """Closed NACA 4-digit profile as a polygon, counter-clockwise from the trailing edge.

    ``code = "MPTT"``: maximum camber M % of the chord at P tenths of the chord, thickness TT %.
    Thickness ``y_t = 5 t (0.2969 sqrt(x) - 0.1260 x - 0.3516 x^2 + 0.2843 x^3 - 0.1036 x^4)``
    (closed trailing edge); camber line ``y_c`` the standard two parabolas. Each surface is
    resampled at equal arc length, sides about ``spacing`` long (chord units), so the polygon
    matches a mesh of that size; the leading edge ``(0, 0)`` and trailing edge ``(chord, 0)`` are
    vertices.
    """
    if len(code) != 4 or not code.isdigit():
        raise ValueError(f"naca: expected a 4-digit code like '0012' or '2412', found {code!r}")
    m, p, t = int(code[0]) / 100, int(code[1]) / 10, int(code[2:]) / 100
    if t <= 0 or (m > 0 and not 0 < p < 1):
        raise ValueError(
            f"naca: code {code!r} has zero thickness or camber position outside (0, 1)"
        )
    x = 0.5 * (1 - np.cos(np.linspace(0, np.pi, 4001)))
    yt = 5 * t * (0.2969 * np.sqrt(x) - 0.1260 * x - 0.3516 * x**2 + 0.2843 * x**3 - 0.1036 * x**4)
    if m > 0:
        front = x < p
        yc = np.where(
            front, m / p**2 * (2 * p * x - x**2), m / (1 - p) ** 2 * (1 - 2 * p + 2 * p * x - x**2)
        )
        dyc = np.where(front, 2 * m / p**2 * (p - x), 2 * m / (1 - p) ** 2 * (p - x))
    else:
        yc = dyc = np.zeros_like(x)
    th = np.arctan(dyc)
    surfaces = []
    for sign in (1.0, -1.0):  # upper, lower; each from the leading to the trailing edge
        s = np.stack([x - sign * yt * np.sin(th), yc + sign * yt * np.cos(th)], 1)
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(s, axis=0), axis=1))])
        n = max(4, int(np.ceil(arc[-1] / spacing)))
        u = np.linspace(0, arc[-1], n + 1)
        surfaces.append(np.stack([np.interp(u, arc, s[:, 0]), np.interp(u, arc, s[:, 1])], 1))
    upper, lower = surfaces
    profile = np.concatenate([upper[::-1][:-1], lower[:-1]])  # TE -> LE (upper) -> TE (lower)
    return chord * profile


def airfoil(
    h: float = 0.15,
    *,
    code: str = "0012",
    angle_of_attack: float = 5.0,
    box: Sequence[float] = (-1.0, 2.0, -1.0, 1.0),
    airfoil_h: float | None = None,
) -> TriMesh:
    """A channel ``[x0, x1] x [y0, y1]`` around a NACA 4-digit airfoil of unit chord.

    The profile is rotated by ``angle_of_attack`` degrees (nose up) about its quarter chord.
    Tags: ``"inlet"`` (x = x0), ``"outlet"`` (x = x1), ``"walls"`` (y = y0, y1) and ``"airfoil"``.
    The mesh size is ``airfoil_h`` (default ``h / 4``) on the profile and grows linearly to ``h``.
    """
    x0, x1, y0, y1 = (float(v) for v in box)
    ah = h / 4 if airfoil_h is None else float(airfoil_h)
    prof = naca4(code, ah)
    a = np.radians(angle_of_attack)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])  # clockwise: nose up
    prof = (prof - [0.25, 0.0]) @ rot.T + [0.25, 0.0]
    if (
        prof[:, 0].min() <= x0
        or prof[:, 0].max() >= x1
        or prof[:, 1].min() <= y0
        or prof[:, 1].max() >= y1
    ):
        raise ValueError(f"airfoil: box {tuple(box)} must contain the unit-chord profile")
    outer = subdivide(
        np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), ["walls", "outlet", "walls", "inlet"], h
    )
    pa, pb = prof, np.roll(prof, -1, axis=0)

    def size(p):
        return ah + 0.25 * distance_to_segments(p, pa, pb)

    return mesh_polygon_domain(
        [outer, (prof, ["airfoil"] * len(prof))], h, size=size, name="airfoil"
    )


MESHES: dict[str, Callable[..., TriMesh]] = {
    "rectangle-hole": rectangle_with_hole,
    "l-shape": l_shape,
    "airfoil": airfoil,
}
