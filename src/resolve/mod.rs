//! Stage 2, resolve: [`RawModel`] to [`Model`].
//!
//! Input: the raw model and its sources. Output: a [`Model`] with typed members, resolved SQL
//! references, joins and views, plus every diagnostic found. Phases: names and `extends`;
//! a skeleton of each cube (members and types); the SQL of each cube against the complete
//! skeleton; views; each cube's and view's `access_policy` against its members ([`policy`]);
//! then whole-model checks (cycles, primary keys, member lists).

pub mod checks;
pub mod cubes;
pub mod extends;
pub mod model;
pub mod policy;
pub mod preagg;
pub mod refresh;
pub mod refs;
pub mod stages;
pub mod templates;
pub mod views;

use crate::diag::{Diagnostic, SourceMap};
use crate::load::RawModel;
pub use model::*;

/// Resolves a raw model. The model is returned even when there are errors, holding what could
/// be resolved, so that later checks can still run; callers refuse to compile queries against a
/// model with errors.
pub fn resolve(raw: &RawModel, sources: &SourceMap) -> (Model, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let flat = extends::flatten(raw, &mut diags);
    let mut model = Model::default();
    for c in &flat.cubes {
        let cube = cubes::skeleton(c, &mut diags);
        model.index.insert(cube.name.clone(), model.cubes.len());
        model.cubes.push(cube);
    }
    let first_view = model.cubes.len();
    for v in &flat.views {
        let view = views::skeleton(v);
        model.index.insert(view.name.clone(), model.cubes.len());
        model.cubes.push(view);
    }
    let filled: Vec<cubes::FilledSql> = {
        let res = templates::Resolver { model: &model, sources };
        flat.cubes.iter().enumerate().map(|(id, raw)| cubes::fill_sql(&res, id, raw, &mut diags)).collect()
    };
    for (id, f) in filled.into_iter().enumerate() {
        f.apply(&mut model.cubes[id]);
    }
    let raw_cubes: Vec<(CubeId, &crate::load::raw::RawCube)> =
        flat.cubes.iter().map(|c| c.as_ref()).enumerate().collect();
    stages::resolve(&mut model, &raw_cubes, &mut diags);
    for (i, v) in flat.views.iter().enumerate() {
        let id = first_view + i;
        let built = views::build(&model, sources, id, v, &mut diags);
        model.cubes[id] = built;
    }
    for (id, raw) in flat.cubes.iter().enumerate() {
        model.cubes[id].access_policy = policy::read_policies(&model.cubes[id], &raw.access_policy, &mut diags);
    }
    for (i, raw) in flat.views.iter().enumerate() {
        let id = first_view + i;
        model.cubes[id].access_policy = policy::read_policies(&model.cubes[id], &raw.access_policy, &mut diags);
    }
    checks::reference_cycles(&model, &mut diags);
    checks::primary_keys(&model, &mut diags);
    checks::dimensions_without_measures(&model, &mut diags);
    checks::member_lists(&model, &raw_cubes, &mut diags);
    let read = preagg::read_all(&templates::Resolver { model: &model, sources }, &raw_cubes, &mut diags);
    for (id, list) in read {
        model.cubes[id].pre_aggregations = list;
    }
    (model, diags)
}
