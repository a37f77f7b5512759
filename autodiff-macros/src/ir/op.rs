//! The closed set of primal operations. Adding a variant does not compile until
//! `rules::rule` gives it a derivative rule.

use proc_macro2::{Ident, Literal, TokenStream};

#[derive(Clone, Debug)]
pub enum Op {
    Const(Const),
    /// A path to a constant outside the function, e.g. `std::f64::consts::PI`.
    Extern(TokenStream),
    /// A placeholder for a value on a path that has already returned; never observed.
    Undef,
    /// `stop_gradient(x)`: the value of `x`, a constant to every derivative (JAX's
    /// `stop_gradient`, PyTorch's `detach`).
    StopGradient,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Neg,
    /// A float method, `args[0]` being the receiver.
    Fun(Fun),
    /// `args[0] as <ty>`; `ty` is the user's type tokens and `to` what they name.
    Cast {
        ty: TokenStream,
        to: super::Ty,
    },
    Cmp(CmpOp),
    Not,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    /// A call of a function at `path`; differentiated through `<path>_jvp` / `<path>_vjp`
    /// when an argument is active.
    Call {
        path: TokenStream,
        form: super::CallForm,
    },
    /// A method of matrices and vectors with a rule (`a.transpose()`, `a.dot(&b)`).
    Lin(Lin),
    /// A method the macro has no rule for, on inactive values only.
    Method {
        name: Ident,
    },
    /// A field of an inactive value.
    Field {
        member: TokenStream,
    },
    /// `args[0][args[1]]`: an element of a slice, array or `Vec`.
    Index,
    /// A new local array, `vec![args[0]; args[1]]`, or `[args[0]; args[1]]` if `fixed`.
    NewArray {
        fixed: bool,
    },
    /// `Vec::with_capacity(args[0])`, or `Vec::new()` without arguments.
    EmptyVec,
    /// `args[0].to_vec()`, or `args[0].clone()` (an array of the same type) if `same`: a
    /// new local array with the elements of another; `args[1]` is their number, taken
    /// with the copy (its cotangent buffer's length).
    CopyArray {
        same: bool,
    },
    /// `&args[0][args[1]..args[2]]`, `args[3]` elements: a sub-slice, a new array whose
    /// cotangent is added into its source's at `args[1]`. A `view` borrows its source (a
    /// borrowed parameter); otherwise it is a copy (`.to_vec()`), since a local array may be
    /// written or moved later.
    SubSlice {
        view: bool,
    },
    /// `args[0]` with `args[2]` pushed; `args[1]` is its length before, the new element's
    /// index. A new version of the array, like `Store`.
    Push,
    /// `args[0]` with element `args[1]` set to `args[2]`: a new version of the array (the
    /// old one is moved, so the emitted code writes in place).
    Store,
    /// `args[0].len()`.
    Len,
    /// `matches!(args[0], pat)`: whether an inactive value matches an arm's pattern.
    Matches {
        pat: TokenStream,
    },
    /// `name` as bound by `pat` in `args[0]`, where it matches (a default elsewhere).
    Bound {
        pat: TokenStream,
        name: syn::Ident,
    },
    /// `args[0][args[1]]` or `args[0][(args[1], args[2])]`: an element of a matrix or
    /// vector (an object).
    At,
    /// `path(args..)`: a nalgebra vector or matrix built from its elements, given in row-major
    /// order (`Vector3::new(x, y, z)`, `Matrix2::new(a, b, c, d)`).
    Construct {
        path: TokenStream,
    },
    /// `path { members[0]: args[0], .. }`: a struct built from its fields (a local struct
    /// value used whole, or a struct result).
    Struct {
        path: TokenStream,
        members: Vec<TokenStream>,
    },
    /// `args[0].map(closure)` with a closure of one float (`|v| body`), or
    /// `args[0].zip_map(&args[1], closure)` (`|x, y| body`) for two `elements`; `closure`
    /// is its tokens as written, `body` the closure as a function of the elements and of
    /// the locals it captures (the remaining args, floats and integers, named as in the
    /// closure): an IR sub-function that the forward and reverse stages differentiate.
    Map {
        closure: TokenStream,
        body: Box<super::Func>,
        elements: usize,
    },
    /// In derivative code, the derivative of a `Map` with respect to its operand `wrt`
    /// (`jvp` is its body's forward derivative). Arguments: the `elements` matrices, the
    /// seed, then the captured values. With respect to a matrix: the tangent along the
    /// seed (`map_jvp`, `zip_map_jvp`) or the matrix's cotangent from the result's
    /// (`map_vjp`, `zip_map_vjp`), by `mode`; with respect to a captured float: the
    /// tangent along the float's tangent (`.._jvp_capture`) or its cotangent, a float
    /// (`.._vjp_capture`).
    MapRule {
        mode: Mode,
        jvp: Box<super::Func>,
        wrt: usize,
        elements: usize,
    },
}

/// Which derivative a runtime rule computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward: the tangent of the result from an operand's tangent.
    Jvp,
    /// Reverse: an operand's cotangent from the result's cotangent.
    Vjp,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Jvp => "jvp",
            Mode::Vjp => "vjp",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Const {
    /// A float literal: its value, and the tokens to emit.
    Float {
        value: f64,
        lit: Literal,
    },
    Int(Literal),
    Bool(bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// Declares the float methods with a derivative rule: variant, method name, and the
/// number of operands including the receiver.
macro_rules! funs {
    ($($variant:ident = $name:literal / $arity:literal,)*) => {
        /// The float methods with derivative rules (`x.sin()`, `x.powf(y)`, `x.clamp(lo, hi)`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Fun {
            $($variant,)*
        }

        impl Fun {
            /// Every float method with a rule.
            pub const ALL: &[Fun] = &[$(Fun::$variant,)*];

            pub fn from_name(name: &str) -> Option<Fun> {
                match name {
                    $($name => Some(Fun::$variant),)*
                    _ => None,
                }
            }

            pub fn name(self) -> &'static str {
                match self {
                    $(Fun::$variant => $name,)*
                }
            }

            /// Operands, the receiver included.
            pub fn arity(self) -> usize {
                match self {
                    $(Fun::$variant => $arity,)*
                }
            }
        }
    };
}

funs! {
    Sin = "sin" / 1,
    Cos = "cos" / 1,
    Tan = "tan" / 1,
    Asin = "asin" / 1,
    Acos = "acos" / 1,
    Atan = "atan" / 1,
    Sinh = "sinh" / 1,
    Cosh = "cosh" / 1,
    Tanh = "tanh" / 1,
    Asinh = "asinh" / 1,
    Acosh = "acosh" / 1,
    Atanh = "atanh" / 1,
    Exp = "exp" / 1,
    Exp2 = "exp2" / 1,
    ExpM1 = "exp_m1" / 1,
    Ln = "ln" / 1,
    Ln1p = "ln_1p" / 1,
    Log2 = "log2" / 1,
    Log10 = "log10" / 1,
    Sqrt = "sqrt" / 1,
    Cbrt = "cbrt" / 1,
    Abs = "abs" / 1,
    Signum = "signum" / 1,
    Recip = "recip" / 1,
    Floor = "floor" / 1,
    Ceil = "ceil" / 1,
    Round = "round" / 1,
    Trunc = "trunc" / 1,
    Fract = "fract" / 1,
    RoundTiesEven = "round_ties_even" / 1,
    ToDegrees = "to_degrees" / 1,
    ToRadians = "to_radians" / 1,
    Erf = "erf" / 1,
    Erfc = "erfc" / 1,
    Powi = "powi" / 2,
    Powf = "powf" / 2,
    Log = "log" / 2,
    Atan2 = "atan2" / 2,
    Hypot = "hypot" / 2,
    Copysign = "copysign" / 2,
    RemEuclid = "rem_euclid" / 2,
    DivEuclid = "div_euclid" / 2,
    Midpoint = "midpoint" / 2,
    Max = "max" / 2,
    Min = "min" / 2,
    Clamp = "clamp" / 3,
    MulAdd = "mul_add" / 3,
}

/// Declares the matrix methods with rules: variant, method name, operands (with the
/// receiver), and whether the result is a scalar.
macro_rules! lins {
    ($($variant:ident = $name:literal / $arity:literal / $scalar:literal,)*) => {
        /// Methods of nalgebra matrices and vectors with derivative rules.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Lin {
            $($variant,)*
        }

        impl Lin {
            pub fn from_name(name: &str) -> Option<Lin> {
                match name {
                    $($name => Some(Lin::$variant),)*
                    _ => None,
                }
            }

            pub fn name(self) -> &'static str {
                match self {
                    $(Lin::$variant => $name,)*
                }
            }

            /// Operands, the receiver included.
            pub fn arity(self) -> usize {
                match self {
                    $(Lin::$variant => $arity,)*
                }
            }

            /// Whether the result is a scalar (a reduction).
            pub fn scalar(self) -> bool {
                match self {
                    $(Lin::$variant => $scalar,)*
                }
            }
        }
    };
}

lins! {
    Transpose = "transpose" / 1 / false,
    ComponentMul = "component_mul" / 2 / false,
    ComponentDiv = "component_div" / 2 / false,
    Dot = "dot" / 2 / true,
    Sum = "sum" / 1 / true,
    Mean = "mean" / 1 / true,
    Norm = "norm" / 1 / true,
    NormSquared = "norm_squared" / 1 / true,
    Trace = "trace" / 1 / true,
}

impl Fun {
    /// Whether the method comes from the runtime's `Erf` trait rather than std.
    pub fn is_extension_method(self) -> bool {
        matches!(self, Fun::Erf | Fun::Erfc)
    }
}

impl Op {
    /// Whether evaluating the op twice is the same as evaluating it once, so common
    /// subexpressions may be merged. Calls and unknown methods may have effects.
    pub fn is_pure(&self) -> bool {
        // Two new arrays are two arrays, even with the same contents.
        !matches!(
            self,
            Op::Call { .. }
                | Op::Method { .. }
                | Op::Undef
                | Op::NewArray { .. }
                | Op::CopyArray { .. }
                | Op::SubSlice { view: false }
                | Op::Store
        )
    }

    /// The mnemonic used in IR dumps.
    pub fn mnemonic(&self) -> String {
        match self {
            Op::Const(Const::Float { lit, value }) if value.is_sign_negative() => {
                format!("const -{lit}")
            }
            Op::Const(Const::Float { lit, .. } | Const::Int(lit)) => format!("const {lit}"),
            Op::Const(Const::Bool(b)) => format!("const {b}"),
            Op::Extern(path) => format!("extern {}", compact(path)),
            Op::Undef => "undef".into(),
            Op::StopGradient => "stop_gradient".into(),
            Op::Add => "add".into(),
            Op::Sub => "sub".into(),
            Op::Mul => "mul".into(),
            Op::Div => "div".into(),
            Op::Rem => "rem".into(),
            Op::Neg => "neg".into(),
            Op::Fun(f) => f.name().into(),
            Op::Cast { ty, .. } => format!("cast {}", compact(ty)),
            Op::Cmp(c) => format!("cmp {}", c.symbol()),
            Op::Not => "not".into(),
            Op::BitAnd => "bitand".into(),
            Op::BitOr => "bitor".into(),
            Op::BitXor => "bitxor".into(),
            Op::Shl => "shl".into(),
            Op::Shr => "shr".into(),
            Op::Call { path, form } if form.method => format!("call_method {}", compact(path)),
            Op::Call { path, .. } => format!("call {}", compact(path)),
            Op::Lin(l) => l.name().into(),
            Op::Method { name } => format!("method {name}"),
            Op::Field { member } => format!("field {}", compact(member)),
            Op::Index => "index".into(),
            Op::NewArray { fixed: true } => "new_array".into(),
            Op::NewArray { fixed: false } => "new_vec".into(),
            Op::Store => "store".into(),
            Op::EmptyVec => "empty_vec".into(),
            Op::CopyArray { same: false } => "to_vec".into(),
            Op::CopyArray { same: true } => "clone_array".into(),
            Op::SubSlice { view: true } => "sub_slice".into(),
            Op::SubSlice { view: false } => "sub_slice_copy".into(),
            Op::Push => "push".into(),
            Op::Len => "len".into(),
            Op::Matches { pat } => format!("matches {}", compact(pat)),
            Op::Bound { pat, name } => format!("bound {name} in {}", compact(pat)),
            Op::At => "at".into(),
            Op::Construct { path } => format!("construct {}", compact(path)),
            Op::Struct { path, .. } => format!("struct {}", compact(path)),
            Op::Map { closure, .. } => format!("map {}", compact(closure)),
            Op::MapRule { mode, jvp, wrt, .. } => {
                format!("map_{} {} wrt {wrt}", mode.name(), jvp.name)
            }
        }
    }
}

/// Token text without the spaces `TokenStream`'s display puts around `::`.
pub fn compact(tokens: &TokenStream) -> String {
    tokens
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
}
