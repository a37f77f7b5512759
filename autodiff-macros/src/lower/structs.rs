//! Struct values, by scalar replacement: a local bound to a struct literal
//! (`let mut s = State { x: .., v: .. };`) is one binding per field, named `s.x`, `s.v`,
//! so that field reads, field writes (`s.x += ..`), copies (`let t = s;`), struct update
//! syntax (`State { x: 0.0, ..s }`), branches and loops need nothing of their own: loops
//! carry the fields that change like any variable, and the tape holds no struct. Where the
//! struct is used whole (a call's argument, the result) it is built from its fields
//! (`Op::Struct`), whose derivative is the same literal of the fields' derivatives.

use super::*;

/// The type and fields of a local struct value; a field that is a struct built by a
/// literal is a shape of its own (`b.pos.x` is a binding as `b.m` is).
#[derive(Clone)]
pub(super) struct Shape {
    path: syn::Path,
    members: Vec<(String, Option<Shape>)>,
}

impl Shape {
    /// The paths of the fields that hold values (`m`, `pos.x`, `pos.y`), in order.
    fn leaves(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, nested) in &self.members {
            match nested {
                Some(shape) => out.extend(shape.leaves().iter().map(|l| format!("{name}.{l}"))),
                None => out.push(name.clone()),
            }
        }
        out
    }

    /// The number of values member `k` holds.
    fn width(&self, k: usize) -> usize {
        self.members[k].1.as_ref().map_or(1, |s| s.leaves().len())
    }

    /// The shape at the member path `a.b` below this one, if it is a struct.
    fn at(&self, path: &str) -> Option<&Shape> {
        let (first, rest) = path.split_once('.').unwrap_or((path, ""));
        let nested = self.members.iter().find(|(n, _)| n == first)?.1.as_ref()?;
        if rest.is_empty() {
            Some(nested)
        } else {
            nested.at(rest)
        }
    }
}

/// The path of a tuple-struct literal `Point(a, b)`: a call of a name in upper camel case
/// (Rust's naming convention for types), but `Some`, `Ok`, `Err` and `Box`.
fn tuple_struct_path(c: &syn::ExprCall) -> Option<syn::Path> {
    let Expr::Path(p) = crate::fence::strip(&c.func) else {
        return None;
    };
    let last = p.path.segments.last()?.ident.to_string();
    let camel = last.starts_with(|ch: char| ch.is_ascii_uppercase());
    let wrapper = matches!(last.as_str(), "Some" | "Ok" | "Err" | "Box");
    (camel && !wrapper && p.qself.is_none() && !c.args.is_empty()).then(|| p.path.clone())
}

impl Lower<'_> {
    /// `let name = init;` where `init` is a struct literal or a local struct value.
    pub(super) fn bind_struct(&mut self, name: &syn::Ident, init: &Expr) -> bool {
        let Some((shape, values)) = self.struct_fields(init) else {
            return false;
        };
        // The struct's own binding holds no value: its fields do.
        let marker = self.undef(name.span());
        let id = self.bind(name.to_string(), marker);
        for (leaf, v) in shape.leaves().iter().zip(values) {
            self.bind(format!("{name}.{leaf}"), v);
        }
        self.shapes.insert(id, shape);
        true
    }

    /// The shape and field values (of its leaves, in order) of a struct literal, of a
    /// local struct value, or of a struct field of one (`b.pos`).
    fn struct_fields(&mut self, e: &Expr) -> Option<(Shape, Vec<Value>)> {
        match e {
            Expr::Paren(p) => self.struct_fields(&p.expr),
            Expr::Struct(s) if s.qself.is_none() => Some(self.literal_fields(s)),
            Expr::Call(c) => {
                let path = tuple_struct_path(c)?;
                let named = c.args.iter().enumerate().map(|(k, a)| (k.to_string(), a));
                let fields: Vec<(String, &Expr)> = named.collect();
                Some(self.fields_of(path, &fields))
            }
            Expr::Path(p) => {
                let name = p.path.get_ident()?.to_string();
                let shape = self.shape_of(&name)?;
                let values = self.current_fields(&name, &shape);
                Some((shape, values))
            }
            Expr::Field(_) => {
                let (root, path) = dotted(e)?;
                let shape = self.shape_of(&root)?.at(&path)?.clone();
                let values = self.current_fields(&format!("{root}.{path}"), &shape);
                Some((shape, values))
            }
            _ => None,
        }
    }

    /// The fields written in a literal, in order; a field that is itself a struct literal
    /// or local struct value is nested, its values in line.
    fn fields_of(&mut self, path: syn::Path, fields: &[(String, &Expr)]) -> (Shape, Vec<Value>) {
        let mut members = Vec::new();
        let mut values = Vec::new();
        for (name, e) in fields {
            match self.struct_fields(e) {
                Some((nested, vs)) => {
                    members.push((name.clone(), Some(nested)));
                    values.extend(vs);
                }
                None => {
                    members.push((name.clone(), None));
                    values.push(self.need(e));
                }
            }
        }
        (Shape { path, members }, values)
    }

    /// The fields of `Path { a: e1, b: e2, ..base }`, in the order written (the base's
    /// other fields after them).
    fn literal_fields(&mut self, s: &syn::ExprStruct) -> (Shape, Vec<Value>) {
        let fields: Vec<(String, &Expr)> = (s.fields.iter())
            .map(|f| (f.member.to_token_stream().to_string(), &f.expr))
            .collect();
        let (mut shape, mut values) = self.fields_of(s.path.clone(), &fields);
        let Some(rest) = &s.rest else {
            return (shape, values);
        };
        let Some((base, base_values)) = self.struct_fields(rest) else {
            self.cx.push(diag::struct_base(rest));
            return (shape, values);
        };
        let mut at = 0;
        for (k, member) in base.members.iter().enumerate() {
            let width = base.width(k);
            if !shape.members.iter().any(|(n, _)| *n == member.0) {
                shape.members.push(member.clone());
                values.extend(&base_values[at..at + width]);
            }
            at += width;
        }
        (shape, values)
    }

    /// The current values of the leaves of `prefix` (`s` or `s.pos`), of shape `shape`.
    fn current_fields(&mut self, prefix: &str, shape: &Shape) -> Vec<Value> {
        shape
            .leaves()
            .iter()
            .map(|leaf| {
                let id = self.lookup(&format!("{prefix}.{leaf}"));
                id.and_then(|id| self.env.get(&id).copied())
                    .unwrap_or_else(|| self.undef(Span::call_site()))
            })
            .collect()
    }

    /// The bindings of the fields of `name` (`s.x`, `s.v`; `b.pos.x` of `b.pos`), if it is
    /// a local struct value or a struct field of one.
    pub(super) fn field_names(&self, name: &str) -> Vec<String> {
        let (root, path) = name.split_once('.').unwrap_or((name, ""));
        let Some(shape) = self.shape_of(root) else {
            return Vec::new();
        };
        let shape = if path.is_empty() {
            Some(&shape)
        } else {
            shape.at(path)
        };
        let leaves = shape.map(Shape::leaves).unwrap_or_default();
        leaves.iter().map(|l| format!("{name}.{l}")).collect()
    }

    /// The shape of the local struct value `name`, if it is one.
    fn shape_of(&self, name: &str) -> Option<Shape> {
        let id = self.lookup(name)?;
        self.shapes.get(&id).cloned()
    }

    /// A struct literal used as a value, or a local struct value (or a struct field of
    /// one) used whole: the struct built from its fields.
    pub(super) fn struct_value(&mut self, e: &Expr) -> Option<Value> {
        let (shape, values) = self.struct_fields(e)?;
        Some(self.build(&shape, &mut values.into_iter(), e.span()))
    }

    /// `Path { a: .., b: Inner { .. } }` of the leaf values in order.
    fn build(
        &mut self,
        shape: &Shape,
        values: &mut impl Iterator<Item = Value>,
        span: Span,
    ) -> Value {
        let mut args = Vec::new();
        for (_, nested) in &shape.members {
            let v = match nested {
                Some(inner) => self.build(inner, values, span),
                None => values.next().unwrap_or_else(|| self.undef(span)),
            };
            args.push(v);
        }
        let members = (shape.members.iter())
            .map(|(m, _)| m.parse().unwrap_or_default())
            .collect();
        let op = Op::Struct {
            path: shape.path.to_token_stream(),
            members,
        };
        self.emit(op, args, span, Ty::Obj)
    }

    /// `State { x, v }.x` or `Polar(r, t).0`: a field of a literal is the value written.
    pub(super) fn literal_field(&mut self, f: &syn::ExprField) -> Option<Value> {
        if !matches!(
            crate::fence::strip(&f.base),
            Expr::Struct(_) | Expr::Call(_)
        ) {
            return None;
        }
        let (shape, values) = self.struct_fields(&f.base)?;
        let member = f.member.to_token_stream().to_string();
        let k = shape.members.iter().position(|(m, _)| *m == member)?;
        let at: usize = (0..k).map(|j| shape.width(j)).sum();
        match &shape.members[k].1 {
            None => Some(values[at]),
            Some(inner) => {
                let inner = inner.clone();
                let width = shape.width(k);
                Some(self.build(
                    &inner,
                    &mut values[at..at + width].iter().copied(),
                    f.span(),
                ))
            }
        }
    }

    /// `s.x` or `s.a.b` of a local struct value: the binding of that field.
    pub(super) fn struct_field(&self, e: &Expr) -> Option<BindingId> {
        let (root, path) = dotted(e)?;
        self.shape_of(&root)?;
        self.lookup(&format!("{root}.{path}"))
    }

    /// `s = State { .. }`, `s = t` or `b.pos = V2 { .. }`: every field rebound.
    pub(super) fn assign_struct(&mut self, target: &Expr, v: &Expr) -> bool {
        let name = match target {
            Expr::Path(p) => p.path.get_ident().map(ToString::to_string),
            Expr::Field(_) => dotted(target).map(|(root, path)| format!("{root}.{path}")),
            _ => None,
        };
        let Some(name) = name else { return false };
        let leaves = self.field_names(&name);
        if leaves.is_empty() {
            return false;
        }
        let Some((_, values)) = self.struct_fields(v) else {
            return false;
        };
        for (leaf, v) in leaves.iter().zip(values) {
            if let Some(id) = self.lookup(leaf) {
                self.assign(id, v);
            }
        }
        true
    }
}

/// `s.a.b` as the variable `s` and the member path `a.b`.
pub(super) fn dotted(e: &Expr) -> Option<(String, String)> {
    match e {
        Expr::Field(f) => {
            let member = f.member.to_token_stream().to_string();
            match &*f.base {
                Expr::Path(p) => Some((p.path.get_ident()?.to_string(), member)),
                base => {
                    let (root, path) = dotted(base)?;
                    Some((root, format!("{path}.{member}")))
                }
            }
        }
        Expr::Paren(p) => dotted(&p.expr),
        _ => None,
    }
}
