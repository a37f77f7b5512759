//! Struct values, by scalar replacement: a local bound to a struct literal
//! (`let mut s = State { x: .., v: .. };`) is one binding per field, named `s.x`, `s.v`,
//! so that field reads, field writes (`s.x += ..`), copies (`let t = s;`), struct update
//! syntax (`State { x: 0.0, ..s }`), branches and loops need nothing of their own: loops
//! carry the fields that change like any variable, and the tape holds no struct. Where the
//! struct is used whole (a call's argument, the result) it is built from its fields
//! (`Op::Struct`), whose derivative is the same literal of the fields' derivatives.

use super::*;

/// The type and fields of a local struct value.
#[derive(Clone)]
pub(super) struct Shape {
    path: syn::Path,
    members: Vec<String>,
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
        for (member, v) in shape.members.iter().zip(values) {
            self.bind(format!("{name}.{member}"), v);
        }
        self.shapes.insert(id, shape);
        true
    }

    /// The shape and field values of a struct literal or of a local struct value.
    fn struct_fields(&mut self, e: &Expr) -> Option<(Shape, Vec<Value>)> {
        match e {
            Expr::Paren(p) => self.struct_fields(&p.expr),
            Expr::Struct(s) if s.qself.is_none() => Some(self.literal_fields(s)),
            Expr::Call(c) => {
                let path = tuple_struct_path(c)?;
                let values = c.args.iter().map(|a| self.need(a)).collect();
                let members = (0..c.args.len()).map(|k| k.to_string()).collect();
                Some((Shape { path, members }, values))
            }
            Expr::Path(p) => {
                let name = p.path.get_ident()?.to_string();
                let shape = self.shape_of(&name)?;
                let values = self.current_fields(&name, &shape);
                Some((shape, values))
            }
            _ => None,
        }
    }

    /// The fields of `Path { a: e1, b: e2, ..base }`, in the order written (the base's
    /// other fields after them).
    fn literal_fields(&mut self, s: &syn::ExprStruct) -> (Shape, Vec<Value>) {
        let mut members = Vec::new();
        let mut values = Vec::new();
        for field in &s.fields {
            members.push(field.member.to_token_stream().to_string());
            values.push(self.need(&field.expr));
        }
        if let Some(rest) = &s.rest {
            match self.struct_fields(rest) {
                Some((base, base_values)) => {
                    for (m, v) in base.members.into_iter().zip(base_values) {
                        if !members.contains(&m) {
                            members.push(m);
                            values.push(v);
                        }
                    }
                }
                None => self.cx.push(diag::struct_base(rest)),
            }
        }
        let shape = Shape {
            path: s.path.clone(),
            members,
        };
        (shape, values)
    }

    fn current_fields(&mut self, name: &str, shape: &Shape) -> Vec<Value> {
        shape
            .members
            .iter()
            .map(|m| {
                let id = self.lookup(&format!("{name}.{m}"));
                id.and_then(|id| self.env.get(&id).copied())
                    .unwrap_or_else(|| self.undef(Span::call_site()))
            })
            .collect()
    }

    /// The bindings of the fields of `name` (`s.x`, `s.v`), if it is a local struct value.
    pub(super) fn field_names(&self, name: &str) -> Vec<String> {
        self.shape_of(name)
            .map(|s| s.members.iter().map(|m| format!("{name}.{m}")).collect())
            .unwrap_or_default()
    }

    /// The shape of the local struct value `name`, if it is one.
    fn shape_of(&self, name: &str) -> Option<Shape> {
        let id = self.lookup(name)?;
        self.shapes.get(&id).cloned()
    }

    /// A struct literal used as a value, or a local struct value used whole: the struct
    /// built from its fields.
    pub(super) fn struct_value(&mut self, e: &Expr) -> Option<Value> {
        let (shape, values) = self.struct_fields(e)?;
        let members = shape
            .members
            .iter()
            .map(|m| m.parse().unwrap_or_default())
            .collect();
        let op = Op::Struct {
            path: shape.path.to_token_stream(),
            members,
        };
        Some(self.emit(op, values, e.span(), Ty::Obj))
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
        let k = shape.members.iter().position(|m| *m == member)?;
        Some(values[k])
    }

    /// `s.x` or `s.a.b` of a local struct value: the binding of that field.
    pub(super) fn struct_field(&self, e: &Expr) -> Option<BindingId> {
        let (root, path) = dotted(e)?;
        self.shape_of(&root)?;
        self.lookup(&format!("{root}.{path}"))
    }

    /// `s = State { .. }` or `s = t`: every field rebound.
    pub(super) fn assign_struct(&mut self, target: &Expr, v: &Expr) -> bool {
        let Expr::Path(p) = target else { return false };
        let Some(name) = p.path.get_ident().map(ToString::to_string) else {
            return false;
        };
        let Some(shape) = self.shape_of(&name) else {
            return false;
        };
        let Some((_, values)) = self.struct_fields(v) else {
            return false;
        };
        for (m, v) in shape.members.iter().zip(values) {
            if let Some(id) = self.lookup(&format!("{name}.{m}")) {
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
