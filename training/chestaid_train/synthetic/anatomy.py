"""The normal chest as density layers: body, mediastinum, heart, lungs, spine, clavicles, ribs,
hila and vessels, kept apart where a consolidation or a distractor needs to act on one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .patient import PatientAnatomy
from .primitives import _cap, _clip01, _ellipse, _ellipse_box, _fan, _Grid, _step, _wobble


@dataclass(frozen=True)
class _Layers:
    base: np.ndarray  # soft tissue, air, heart, spine, clavicles: density, bright = dense
    ribs: np.ndarray  # kept apart so a consolidation can partly hide them
    vessels: np.ndarray
    hilum_blobs: np.ndarray
    air: np.ndarray  # density the aerated lung removed; consolidation puts some of it back
    lungs: np.ndarray  # soft union of both lung fields in [0, 1]
    lung_sides: tuple[np.ndarray, np.ndarray]  # (right, left)
    hila: tuple[tuple[float, float], tuple[float, float]]


def _anatomy(p: PatientAnatomy, g: _Grid, inspiration: float) -> _Layers:
    e = 1.3 * g.px
    u, v = g.u, g.v
    au = np.abs(u)

    # Body: neck, shoulders sloping down to the arms, arms beside the chest with an axillary
    # gap. Projected thickness falls off towards each outline.
    chest_hw = np.float32(p.chest_half_width) * (1.0 + 0.05 * np.clip(v, -1.0, 1.0))
    arm_c = p.chest_half_width + p.axilla_gap + p.arm_width / 2.0
    outer = arm_c + p.arm_width / 2.0
    slope = _clip01((au - p.neck_half_width) / (outer - p.neck_half_width))
    shoulders = _step(v - (p.shoulder_v + 0.28 * slope * slope), 0.015)
    outline = np.maximum(_step(p.neck_half_width - au, e), shoulders)
    outline *= _step(outer - au, e)
    # The gap opens below the axilla and widens as the arms hang away from the trunk.
    gap = p.axilla_gap * np.clip((v - p.shoulder_v - 0.25) * 2.0, 0.0, 1.5)
    outline *= 1.0 - _step(au - chest_hw, e) * _step(chest_hw + gap - au, e)
    torso = _cap(u / chest_hw)
    arm = 0.8 * np.sqrt(_cap((au - arm_c) / (p.arm_width / 2.0)))
    neck = np.sqrt(_cap(u / p.neck_half_width))
    body = outline * np.maximum(np.maximum(torso, arm), np.maximum(neck, 0.45))
    base = p.tissue_density * body
    # Abdomen below the domes is thicker than the chest wall above.
    base += 0.06 * _step(v - (max(p.dome_v) + 0.1 + inspiration), 0.08) * torso

    # Mediastinum, optional thymic "sail" (a normal paediatric finding that looks like an upper
    # lobe opacity, so a useful distractor), heart sitting on the left hemidiaphragm.
    carve = np.ones_like(u)
    med_u, med_hw = p.spine_u + 0.02, p.mediastinum_half_width
    win = g.box(med_u - med_hw - 0.25, med_u + med_hw + 0.05, -2.0, 2.0)
    gw = g[win]
    med = _step(med_hw - np.abs(gw.u - med_u), e) * _step(gw.v + 0.95, 0.05)
    if p.thymus > 0.0:
        top, bottom = -0.50, -0.12
        t = _clip01((gw.v - top) / (bottom - top))
        reach = med_hw + (0.05 + 0.12 * p.thymus) * t
        sail = _step(reach - np.abs(gw.u - med_u), e) * _step(gw.v - top, 0.02) * _step(bottom - gw.v, e)
        med = np.maximum(med, sail * (gw.u < med_u))
    carve[win] *= 1.0 - med

    hc_u, hc_v = p.heart_center[0], p.heart_center[1] + inspiration
    win = _ellipse_box(g, hc_u, hc_v, max(p.heart_axes) + 0.03)
    heart_r = _ellipse(g[win], hc_u, hc_v, p.heart_axes[0], p.heart_axes[1], p.heart_angle_deg)
    heart = _step(1.0 - heart_r, e / p.heart_axes[0])
    base[win] += 0.07 * heart * _cap(heart_r)
    carve[win] *= 1.0 - heart

    # Lungs: rounded apex, convex lateral wall, diaphragmatic dome deepest at the costophrenic
    # angle; the mediastinum and heart cut the medial side, which makes the left lung smaller.
    sides = []
    for i in (0, 1):
        cu, hw = p.lung_center_u[i], p.lung_half_width[i]
        apex, dome, depth = p.lung_apex_v[i], p.dome_v[i] + inspiration, p.dome_depth[i]
        win = g.box(cu - hw - 0.03, cu + hw + 0.03, apex - 0.03, dome + depth + 0.03)
        gw = g[win]
        q = _clip01((gw.v - apex) / (dome + depth - apex))
        width = hw * np.sqrt(1.0 - (1.0 - np.minimum(q / 0.45, 1.0)) ** 2) * (0.9 + 0.1 * q)
        field_ = _step(width - np.abs(gw.u - cu), e)
        field_ *= _step(dome + depth * ((gw.u - cu) / hw) ** 2 - gw.v, e)
        field_ *= _step(gw.v - apex, e) * carve[win]
        side = np.zeros_like(u)
        side[win] = field_
        sides.append(side)
    right, left = sides
    lungs = np.maximum(right, left)
    # Aerated lung replaces a fraction of the tissue in the beam, so density never goes
    # negative where the chest is thin; less at apex and base, where soft tissue overlaps.
    top, bottom = min(p.lung_apex_v), max(p.dome_v) + 0.15
    profile = 0.82 + 0.18 * np.sin(np.pi * _clip01((v - top) / (bottom - top)))
    air = (p.lung_air * p.tissue_density) * lungs * profile * body
    base -= air

    if p.gastric_bubble > 0.0:
        bu, bv = p.lung_center_u[1] + 0.05, p.dome_v[1] + inspiration + 0.12 + p.gastric_bubble
        win = _ellipse_box(g, bu, bv, 2.0 * p.gastric_bubble)
        bubble = _ellipse(g[win], bu, bv, p.gastric_bubble * 1.6, p.gastric_bubble)
        base[win] -= 0.25 * _step(1.0 - bubble, 0.15)

    # Spine: band with vertebral bodies, disc spaces and pedicle rings, faint behind the
    # mediastinum as on a well-penetrated film.
    shw = p.spine_half_width
    win = g.box(p.spine_u - shw - 0.02, p.spine_u + shw + 0.02, -2.0, 2.0)
    gw = g[win]
    du = np.abs(gw.u - p.spine_u)
    phase = (gw.v - p.vertebra_phase * p.vertebra_period) / p.vertebra_period
    frac = phase - np.floor(phase)
    disc = np.exp(-(((frac - 0.5) / 0.09) ** 2))
    ring = np.sqrt(((du - 0.65 * shw) / (0.22 * shw)) ** 2 + ((frac - 0.25) / 0.16) ** 2)
    pedicles = np.exp(-(((ring - 0.8) / 0.25) ** 2))
    base[win] += _step(shw - du, e) * (0.06 * (1.0 - 0.4 * disc) + 0.03 * pedicles)

    # Clavicles: S-curved bands from the manubrium out to the shoulders.
    if p.clavicle_v is not None:
        win = g.box(-outer, outer, p.clavicle_v - 0.1, p.clavicle_v + 0.12)
        gw = g[win]
        for sign in (-1.0, 1.0):
            lat = sign * gw.u
            s = _clip01((lat - 0.06) / (p.chest_half_width - 0.08))
            centre = p.clavicle_v + 0.03 - 0.04 * s + 0.03 * np.sin(2.0 * np.pi * s)
            span = _step(lat - 0.06, 0.01) * _step(p.chest_half_width + 0.02 - lat, 0.02)
            d = np.abs(gw.v - centre) / (0.032 - 0.008 * s)
            bone = np.exp(-(d**4)) + 0.5 * np.exp(-(((d - 0.9) / 0.2) ** 2))
            base[win] += 0.09 * span * bone * body[win]

    # Posterior ribs: arcs leaving the spine slightly upwards, then curving down laterally, laid
    # out as one periodic profile in a warped vertical coordinate (one vectorised pass for all
    # ten a side). Anterior ribs run down and inwards, fainter, ending at the costal cartilage.
    ribs = np.zeros_like(u)
    win = g.box(-p.chest_half_width * 1.1, p.chest_half_width * 1.1, p.rib_first_v - 0.1, 2.0)
    gw = g[win]
    s = np.maximum(np.abs(gw.u - p.spine_u) - 0.7 * shw, 0.0)
    lateral_end = p.chest_half_width * (1.0 + 0.05 * np.clip(gw.v, -1.0, 1.0)) - abs(p.spine_u) - 0.03
    w = (gw.v + p.rib_slant * s - p.rib_curvature * s * s - p.rib_first_v) / p.rib_spacing
    k = np.floor(w)
    f = w - k
    soft = 0.8 * g.px / p.rib_spacing
    band = _step(f - 0.03, soft) * _step(p.rib_width - f, soft)
    cortex = np.exp(-(((f - 0.05) / 0.04) ** 2)) + np.exp(-(((f - p.rib_width + 0.02) / 0.04) ** 2))
    posterior = (0.6 * band + 0.4 * cortex) * ((k >= 0) & (k <= 9))
    posterior *= _step(lateral_end - s, 0.03) * _step(s, 0.02)
    wa = (gw.v - 0.6 * (lateral_end - s) - p.rib_first_v - 0.3) / (p.rib_spacing * 1.3)
    fa = wa - np.floor(wa)
    anterior = np.exp(-(((fa - 0.2) / 0.1) ** 2)) * ((wa >= 0) & (wa <= 6))
    anterior *= _step(s - 0.35, 0.05) * _step(lateral_end - s, 0.03)
    ribs[win] = (0.065 * posterior + 0.03 * anterior) * (0.3 + 0.7 * lungs[win]) * body[win]

    # Hila, and vessels fanning out from them that fade towards the periphery.
    hila = ((med_u - med_hw - 0.04, -0.06), (med_u + med_hw + 0.03, -0.09))
    vessel_rng = np.random.default_rng(p.texture_seed)
    blobs = np.zeros_like(u)
    vessels = np.zeros_like(u)
    win = g.box(min(p.lung_center_u[0] - p.lung_half_width[0], hila[0][0]) - 0.03,
                max(p.lung_center_u[1] + p.lung_half_width[1], hila[1][0]) + 0.03,
                min(p.lung_apex_v) - 0.03, max(p.dome_v) + max(p.dome_depth) + inspiration + 0.03)
    gw = g[win]
    tree = np.zeros_like(gw.u)
    for hub in hila:
        tree += _fan(gw, hub, int(vessel_rng.integers(8, 13)), 0.018, 0.55, _wobble(vessel_rng))
        tree += 0.6 * _fan(gw, hub, int(vessel_rng.integers(16, 24)), 0.009, 0.65, _wobble(vessel_rng))
        hub_win = _ellipse_box(g, hub[0], hub[1], 0.3)
        blobs[hub_win] += np.exp(-(_ellipse(g[hub_win], hub[0], hub[1], 0.05, 0.10, 10.0) ** 2))
    vessels[win] = 0.045 * p.hilum_prominence * np.minimum(tree, 1.0) * lungs[win]
    blobs *= 0.07 * p.hilum_prominence

    return _Layers(base, ribs, vessels, blobs, air, lungs, (right, left), hila)
