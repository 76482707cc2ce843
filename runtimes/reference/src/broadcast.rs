//! Multidirectional (numpy-style) broadcasting shared by the elementwise kernels.

use ndarray::{ArrayD, IxDyn, Zip};

use crate::error::OpError;

/// The broadcast shape of several shapes, or an error naming them.
pub fn broadcast_shape(shapes: &[&[usize]]) -> Result<Vec<usize>, OpError> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; rank];
    for shape in shapes {
        let offset = rank - shape.len();
        for (i, &d) in shape.iter().enumerate() {
            let o = &mut out[offset + i];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                return Err(OpError::invalid(format!("shapes {shapes:?} do not broadcast")));
            }
        }
    }
    Ok(out)
}

/// Applies `f` elementwise over two broadcast arrays.
pub fn zip2<A: Clone, B: Clone, R>(a: &ArrayD<A>, b: &ArrayD<B>, f: impl Fn(A, B) -> R) -> Result<ArrayD<R>, OpError> {
    let shape = broadcast_shape(&[a.shape(), b.shape()])?;
    let av = a.broadcast(IxDyn(&shape)).expect("checked");
    let bv = b.broadcast(IxDyn(&shape)).expect("checked");
    Ok(Zip::from(&av).and(&bv).map_collect(|x, y| f(x.clone(), y.clone())))
}

/// Applies `f` elementwise over three broadcast arrays.
pub fn zip3<A: Clone, B: Clone, C: Clone, R>(
    a: &ArrayD<A>,
    b: &ArrayD<B>,
    c: &ArrayD<C>,
    f: impl Fn(A, B, C) -> R,
) -> Result<ArrayD<R>, OpError> {
    let shape = broadcast_shape(&[a.shape(), b.shape(), c.shape()])?;
    let av = a.broadcast(IxDyn(&shape)).expect("checked");
    let bv = b.broadcast(IxDyn(&shape)).expect("checked");
    let cv = c.broadcast(IxDyn(&shape)).expect("checked");
    Ok(Zip::from(&av)
        .and(&bv)
        .and(&cv)
        .map_collect(|x, y, z| f(x.clone(), y.clone(), z.clone())))
}
