"""``nanomorph explore cluster|similar``: what is in a set of images, before labelling it.

- ``cluster IMAGES.csv|DIR [--n-clusters N|auto] [--method kmeans|hdbscan] [--pca N]
  [--encoder NAME] [--json]``: one object per image, in input order, ``{"path", "cluster", "distance"}``
  (cluster −1 = noise; distance = cosine distance to the cluster's centroid). A ``label``
  column in the CSV is ignored by the clustering; with ``--json`` nothing else is printed on
  stdout, without it a line per image and the cluster sizes.
- ``similar QUERY... --in IMAGES.csv|DIR [--top K] [--json]``: one object per query
  ``{"path", "similar": [{"path", "score"}]}`` (cosine similarity, most similar first; a query
  that is one of the set's images is left out of its own answer; a query outside the set is
  embedded and searched just the same).

IMAGES.csv has a ``path`` column (relative paths are relative to the CSV's folder); DIR means
its image files (not recursive). Images that cannot be read print ``error: <path>: <reason>``,
the others go on, and the exit code is 2. Embeddings are cached with ``--cache DIR``.
"""

from __future__ import annotations

import csv
import os

from nanomorph import defaults
from nanomorph.cli.arguments import positive_int
from nanomorph.cli.output import print_json, report_error
from nanomorph.device import DEVICE_CHOICES
from nanomorph.errors import NanomorphError, display_path


def add_parser(sub) -> None:
    """Add the ``nanomorph explore`` commands to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("explore", help="clusters and similar images of a set, before labels",
                       description="See what is in a set of images: clusters of similar "
                                   "embeddings, and the images most like a query.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    cluster = actions.add_parser("cluster", help="group the images by their embeddings")
    cluster.add_argument("images", metavar="IMAGES.csv|DIR")
    cluster.add_argument("--n-clusters", type=_n_clusters, default="auto", metavar="N|auto",
                         help="k-means clusters, or auto (best silhouette, the default)")
    cluster.add_argument("--method", choices=("kmeans", "hdbscan"), default="kmeans",
                         help="kmeans (default) or hdbscan (the data decide; noise = -1)")
    cluster.add_argument("--pca", type=positive_int, default=None, metavar="N",
                         help="reduce the embeddings to N principal components first")
    cluster.add_argument("--json", action="store_true", help="one JSON object per image")
    _embedding_options(cluster)
    cluster.set_defaults(run=run_cluster)

    similar = actions.add_parser("similar", help="the images most like each query")
    similar.add_argument("queries", nargs="+", metavar="QUERY")
    similar.add_argument("--in", dest="images", required=True, metavar="IMAGES.csv|DIR",
                         help="the images to search")
    similar.add_argument("--top", type=positive_int, default=5, metavar="K",
                         help="how many similar images per query (default 5)")
    similar.add_argument("--json", action="store_true", help="one JSON object per query")
    _embedding_options(similar)
    similar.set_defaults(run=run_similar)


def _embedding_options(parser) -> None:
    parser.add_argument("--encoder", default=defaults.ENCODER, metavar="NAME|PATH",
                        help="image encoder (default efficientnet-lite0)")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                        help="where the encoder runs (default: $NANOMORPH_DEVICE or auto)")
    parser.add_argument("--cache", metavar="DIR", default=None,
                        help="embedding cache folder (reused between runs)")


def run_cluster(args) -> int:
    """Run ``nanomorph explore cluster``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        0 when every image was clustered, 2 when one could not be (or nothing could be done).
    """
    from nanomorph.explore import cluster_embeddings

    try:
        paths = image_list(args.images)
        embedded = _embed(paths, args)
        if len(embedded.paths) < 2:
            raise NanomorphError(f"{len(embedded.paths)} image(s) could be embedded: "
                                 "clustering needs at least two", args.images)
        clustering = cluster_embeddings(embedded.embeddings, n_clusters=args.n_clusters,
                                        method=args.method, pca_components=args.pca)
    except NanomorphError as exc:
        report_error(exc.path or args.images, exc)
        return 2
    rows = {path: i for i, path in enumerate(embedded.paths)}
    for path in paths:
        if path not in rows:
            continue
        i = rows[path]
        record = {"path": display_path(path), "cluster": int(clustering.labels[i]),
                  "distance": round(float(clustering.distances[i]), 6)}
        if args.json:
            print_json(record)
        else:
            print(f"{record['path']}: cluster {record['cluster']} "
                  f"(distance {record['distance']:.3f})")
    if not args.json:
        sizes = [int((clustering.labels == c).sum()) for c in range(clustering.n_clusters)]
        noise = int((clustering.labels < 0).sum())
        print(f"{clustering.n_clusters} clusters of {', '.join(map(str, sizes))} images"
              + (f", {noise} noise" if noise else ""), flush=True)
    return 2 if embedded.failed else 0


def run_similar(args) -> int:
    """Run ``nanomorph explore similar``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        0 when every query was answered, 2 when an image or a query could not be embedded.
    """
    import numpy as np

    from nanomorph.explore import most_similar

    try:
        paths = image_list(args.images)
        outside = [q for q in args.queries
                   if os.path.normpath(os.path.abspath(q)) not in set(paths)]
        embedded = _embed(paths + outside, args)
    except NanomorphError as exc:
        report_error(exc.path or args.images, exc)
        return 2
    rows = {path: i for i, path in enumerate(embedded.paths)}
    searched = [rows[p] for p in paths if p in rows]
    X = embedded.embeddings[searched]
    failed = bool(embedded.failed)
    for query in args.queries:
        key = os.path.normpath(os.path.abspath(query))
        if key not in rows:
            failed = True  # its error line came with the embedding
            continue
        position = searched.index(rows[key]) if rows[key] in searched else None
        found = most_similar(X, position if position is not None else
                             np.asarray(embedded.embeddings[rows[key]]), top=args.top)
        record = {"path": display_path(query),
                  "similar": [{"path": display_path(embedded.paths[searched[i]]),
                               "score": round(score, 6)} for i, score in found]}
        if args.json:
            print_json(record)
        else:
            print(f"{record['path']}:")
            for item in record["similar"]:
                print(f"  {item['score']:.3f}  {item['path']}")
    return 2 if failed else 0


def image_list(source: str) -> list[str]:
    """The images of an IMAGES.csv (its ``path`` column) or of a folder.

    Parameters
    ----------
    source : str
        A CSV file or a folder.

    Returns
    -------
    list of str
        Absolute, normalised paths in file (or name) order, each once.

    Raises
    ------
    NanomorphError
        A missing source, a CSV without a ``path`` column or listing nothing, an empty folder.
    """
    from nanomorph.project.opening import image_files

    if os.path.isdir(source):
        paths = image_files(source)
        if not paths:
            raise NanomorphError("the folder holds no image file nanomorph reads", source)
    elif os.path.isfile(source):
        paths = _csv_paths(source)
    else:
        raise NanomorphError("no such file or folder", source)
    return list(dict.fromkeys(os.path.normpath(os.path.abspath(p)) for p in paths))


def _csv_paths(path: str) -> list[str]:
    folder = os.path.dirname(os.path.abspath(path))
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            if "path" not in [c.strip() for c in reader.fieldnames or []]:
                raise NanomorphError("the header must name a path column", path)
            reader.fieldnames = [c.strip() for c in reader.fieldnames]
            paths = [os.path.join(folder, row["path"].strip()) for row in reader
                     if (row.get("path") or "").strip()]
    except OSError as exc:
        raise NanomorphError(f"cannot read the list ({exc.strerror or exc})", path) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise NanomorphError(f"not a UTF-8 CSV file ({exc})", path) from None
    if not paths:
        raise NanomorphError("the list names no image", path)
    return paths


def _embed(paths: list[str], args):
    """Embed the images (one progress bar); report those that fail."""
    from nanomorph.cli.progress import run_with_progress
    from nanomorph.embedding import embed_images

    embedded = run_with_progress(embed_images(paths, encoder=args.encoder, device=args.device,
                                              cache=args.cache), "embedding")
    for path, reason in embedded.failed:
        report_error(path, reason)
    return embedded


def _n_clusters(text: str):
    import argparse

    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or auto, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"the number of clusters must be >= 1, not {text}")
    return value
