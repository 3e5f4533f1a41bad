"""The models repository: registration and stored predictions."""

from __future__ import annotations





def test_models_and_predictions(project):
    a, b, c = (r.id for r in project.images.all())
    model = project.models.register("classifier", "live", "live.npz", {"encoder": "x"})
    assert project.models.register("classifier", "live", "live2.npz", {}) == model
    assert project.models.list("classifier")[0]["file"] == "live2.npz"
    project.models.save_predictions(model, {a: {"label": "network", "confidence": 0.9}})
    project.models.save_predictions(model, {b: {"label": "bundle", "confidence": 0.6}})
    assert project.models.predictions(model) == {b: {"label": "bundle", "confidence": 0.6}}
    project.images.remove(b)
    assert project.models.predictions(model) == {}
