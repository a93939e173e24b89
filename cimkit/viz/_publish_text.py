"""The French and English texts of the public consultation page (:mod:`cimkit.viz.publish`).

Numbers are passed in already formatted as ``<data value="...">`` elements, so that both
languages show (and a test can compare) the very same values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cimkit.viz._figures import AccessFigures, CarbonFigures

__all__ = ["TEXTS", "LANGUAGES", "flood_text", "carbon_text", "access_text", "format_number"]

LANGUAGES = ("fr", "en")

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Consultation publique : la maquette de la ville",
        "intro": "Cette page présente la maquette numérique de la ville et ce qu'elle dit des "
        "risques d'inondation, du carbone des bâtiments et de l'accès à pied aux services. "
        "Elle fonctionne sans connexion à internet.",
        "switch": "English version",
        "view": "Vue 3D des bâtiments",
        "canvas": "Vue 3D des {n} bâtiments publiés. Touches : flèches pour tourner, plus et moins "
        "pour zoomer, N ou Entrée pour le bâtiment suivant, P pour le précédent.",
        "ground": " posés sur le relief du terrain (en vert pâle)",
        "view_alt": "Description de la vue 3D : {n} bâtiments dessinés en volumes{ground}, vus du ciel en "
        "oblique. Le tableau des résultats ci-dessous donne les mêmes informations en texte.",
        "picked": "Bâtiment sélectionné",
        "none": "Aucun bâtiment sélectionné.",
        "loading": "Chargement de la maquette…",
        "help": "Utiliser la vue 3D",
        "keys": "<li>Souris : faire glisser pour tourner, molette pour zoomer, cliquer sur un "
        "bâtiment pour lire son identifiant.</li><li>Clavier : Tab pour atteindre la vue, "
        "flèches pour tourner, <kbd>+</kbd> et <kbd>-</kbd> pour zoomer, <kbd>N</kbd> ou "
        "<kbd>Entrée</kbd> pour le bâtiment suivant, <kbd>P</kbd> pour le précédent, "
        "<kbd>Échap</kbd> pour désélectionner.</li>",
        "results": "Ce que dit la maquette",
        "flood": "Inondation",
        "carbon": "Carbone des bâtiments",
        "access": "Accès à pied aux services (ville du quart d'heure)",
        "absent": "Non disponible : cette analyse n'a pas été faite pour cette maquette.",
        "sources": "Sources des données",
        "sources_caption": "Fichiers d'où vient la maquette publiée, avec leur licence, leur "
        "empreinte sha256 et leur date de lecture.",
        "file": "Fichier",
        "layer": "Couche",
        "licence": "Licence",
        "date": "Date",
        "unknown": "inconnue",
        "withheld": "Les réseaux et couches sensibles (eau, assainissement, énergie, noms des "
        "propriétaires) ne sont pas publiés sur cette page.",
        "allowed": "Publié par dérogation : {parts}.",
        "downloads": "Données publiées (GeoJSON, WGS 84)",
        "opinion": "Donner votre avis",
        "opinion_default": "Pour donner votre avis sur ce projet, adressez-vous à l'accueil de "
        "votre mairie, qui vous indiquera comment et jusqu'à quand le faire.",
        "dates": "Dates de la consultation : du {start} au {end}.",
        "address": "Adresse : {address}.",
        "url": "Déposer un avis en ligne",
        "email": "Écrire par courriel",
        "noscript": "La vue 3D a besoin de JavaScript et de WebGL ; le reste de la page se lit sans.",
    },
    "en": {
        "title": "Public consultation: the city model",
        "intro": "This page shows the city's digital model and what it says about flood risk, the "
        "carbon of its buildings and walking access to services. It works without an internet "
        "connection.",
        "switch": "Version française",
        "view": "3D view of the buildings",
        "canvas": "3D view of the {n} published buildings. Keys: arrows to orbit, plus and minus "
        "to zoom, N or Enter for the next building, P for the previous one.",
        "ground": " standing on the relief of the ground (pale green)",
        "view_alt": "Description of the 3D view: {n} buildings drawn as volumes{ground}, seen obliquely "
        "from above. The results below give the same information as text.",
        "picked": "Selected building",
        "none": "No building selected.",
        "loading": "Loading the city model…",
        "help": "Using the 3D view",
        "keys": "<li>Mouse: drag to orbit, wheel to zoom, click a building to read its "
        "identifier.</li><li>Keyboard: Tab to reach the view, arrows to orbit, <kbd>+</kbd> and "
        "<kbd>-</kbd> to zoom, <kbd>N</kbd> or <kbd>Enter</kbd> for the next building, "
        "<kbd>P</kbd> for the previous one, <kbd>Esc</kbd> to clear the selection.</li>",
        "results": "What the model says",
        "flood": "Flooding",
        "carbon": "Carbon of the buildings",
        "access": "Walking access to services (15-minute city)",
        "absent": "Not available: this analysis was not run for this model.",
        "sources": "Data sources",
        "sources_caption": "The files the published model comes from, with their licence, sha256 "
        "fingerprint and the date they were read.",
        "file": "File",
        "layer": "Layer",
        "licence": "Licence",
        "date": "Date",
        "unknown": "unknown",
        "withheld": "Sensitive networks and layers (water, sewer, power, owners' names) are not "
        "published on this page.",
        "allowed": "Published by an allowance: {parts}.",
        "downloads": "Published data (GeoJSON, WGS 84)",
        "opinion": "How to give your opinion",
        "opinion_default": "To give your opinion on this project, ask at the reception of your "
        "town hall, which will tell you how and until when to do so.",
        "dates": "Consultation dates: from {start} to {end}.",
        "address": "Address: {address}.",
        "url": "Give your opinion online",
        "email": "Write by email",
        "noscript": "The 3D view needs JavaScript and WebGL; the rest of the page reads without it.",
    },
}


def format_number(value: float, lang: str, digits: int = 0) -> str:
    """Return ``value`` as a ``<data>`` element written the way ``lang`` writes numbers.

    >>> format_number(12345.678, "fr", 1), format_number(12345.678, "en", 1)
    ('<data value="12345.7">12\u202f345,7</data>', '<data value="12345.7">12,345.7</data>')
    """
    rounded = round(float(value), digits)
    text = f"{rounded:,.{digits}f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    machine = f"{rounded:.{digits}f}"
    return f'<data value="{machine}">{text}</data>'


def flood_text(lang: str, n: int, flooded: Sequence[tuple[float, int]], ead: float) -> list[str]:
    """Sentences on flooding: buildings reached per return period, expected annual damage."""
    num: Callable[..., str] = lambda v, d=0: format_number(v, lang, d)  # noqa: E731
    if lang == "fr":
        out = [
            f"Pour une crue qui revient en moyenne tous les {num(rp)} ans, {num(k)} des {num(n)} "
            "bâtiments ont de l'eau au pied de leurs murs."
            for rp, k in flooded
        ]
        out.append(
            f"Dommages attendus en moyenne par an, toutes crues confondues : {num(ead)} euros "
            "(une estimation, pas une prévision)."
        )
        return out
    out = [
        f"For a flood that comes back on average every {num(rp)} years, {num(k)} of the {num(n)} "
        "buildings have water at the foot of their walls."
        for rp, k in flooded
    ]
    out.append(
        f"Damage expected on average each year, over all floods: {num(ead)} euros "
        "(an estimate, not a forecast)."
    )
    return out


def carbon_text(lang: str, figures: CarbonFigures) -> list[str]:
    """Sentences on carbon: the IFC buildings' embodied carbon, the estimates apart, operational a year."""
    num: Callable[..., str] = lambda v, d=0: format_number(v, lang, d)  # noqa: E731
    f = figures
    if lang == "fr":
        out = [
            f"Construire les {num(f.ifc_buildings)} bâtiments décrits en détail (maquettes IFC) a émis "
            f"environ {num(f.ifc_t)} tonnes d'équivalent CO2 (carbone « gris », méthode EN 15978)."
        ]
        if f.estimated_buildings:
            out.append(
                f"Pour les {num(f.estimated_buildings)} autres bâtiments, connus seulement par leur emprise, "
                f"le chiffre est une estimation haute : au plus {num(f.estimated_t)} tonnes (surface x "
                "plafond RE2020), comptée à part."
            )
        if f.operational_t_year is not None:
            out.append(
                f"Les chauffer et les éclairer émet environ {num(f.operational_t_year)} tonnes par an."
            )
        return out
    out = [
        f"Building the {num(f.ifc_buildings)} buildings described in detail (IFC models) emitted about "
        f"{num(f.ifc_t)} tonnes of CO2 equivalent (embodied carbon, EN 15978 method)."
    ]
    if f.estimated_buildings:
        out.append(
            f"For the {num(f.estimated_buildings)} other buildings, known only by their footprint, the figure "
            f"is a high estimate: at most {num(f.estimated_t)} tonnes (floor area x RE2020 cap), counted apart."
        )
    if f.operational_t_year is not None:
        out.append(f"Heating and lighting them emits about {num(f.operational_t_year)} tonnes a year.")
    return out


def access_text(lang: str, figures: AccessFigures) -> list[str]:
    """Sentences on the 15-minute score of the homes: how many reach every service group, the mean."""
    num: Callable[..., str] = lambda v, d=0: format_number(v, lang, d)  # noqa: E731
    f = figures
    if lang == "fr":
        who = "logements (bâtiments d'habitation)" if f.by_use else "bâtiments"
        out = [
            f"{num(f.full)} des {num(f.homes)} {who} ont chaque type de service (école, santé, "
            "commerces, transports…) à moins de 15 minutes à pied.",
            f"Note moyenne : {num(f.mean, 2)} sur 1.",
        ]
        if f.flooded_mean is not None:
            out.append(
                f"Avec les rues inondées par la crue de {num(f.flood_period)} ans fermées, la note moyenne "
                f"passe à {num(f.flooded_mean, 2)} ; {num(f.losing)} {who} perdent une partie de leur note."
            )
        return out
    who = "homes (residential buildings)" if f.by_use else "buildings"
    out = [
        f"{num(f.full)} of the {num(f.homes)} {who} have every kind of service (school, health, "
        "shops, transport…) within a 15-minute walk.",
        f"Mean score: {num(f.mean, 2)} out of 1.",
    ]
    if f.flooded_mean is not None:
        out.append(
            f"With the streets flooded by the {num(f.flood_period)}-year flood closed, the mean score is "
            f"{num(f.flooded_mean, 2)}; {num(f.losing)} {who} lose part of their score."
        )
    return out
