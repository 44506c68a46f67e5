//! The `select!` macro (the gathering macros are in `join.rs`).
//!
//! It runs a fixed set of futures concurrently inside the calling task and re-polls
//! every enabled branch on each wake-up, which is right for the handful of branches a
//! macro names; for many futures use `as_completed`, whose cost per wake-up is one
//! child poll.
//!
//! It names its branches with identifiers taken from a fixed list (so at most 64
//! branches per invocation) and reaches its helpers through `$crate::__private`.

/// Waits on several futures at once and runs the handler of the first one to complete,
/// dropping the others (tokio's `select!`; asyncio's `wait(..., FIRST_COMPLETED)` plus
/// cancelling the rest).
///
/// ```text
/// select! {
///     [biased;]
///     <pattern> = <future> [, if <condition>] => <handler>,
///     ...
///     [else => <expression>]
/// }
/// ```
///
/// * Every `<future>` expression is evaluated (any `IntoFuture`), then all are polled
///   inside the current task. Branches are polled starting from a random one, so no
///   branch starves; with `biased;` they are polled in the order written.
/// * When a future completes and its output matches `<pattern>`, the other futures are
///   dropped and `<handler>` runs with the pattern's bindings; the value of `select!`
///   is the handler's. `break`, `continue`, `return`, `?` and `.await` work in handlers.
/// * When the output does not match, that branch is disabled and the others keep
///   running. A branch whose `if <condition>` is false is never polled.
/// * When every branch is disabled, the `else` expression is the result (without
///   `else`, `select!` panics). At most 64 branches.
///
/// Must be used inside an async context (it contains an `.await`).
///
/// ```
/// # magpie_sync::__block_on(async {
/// use magpie_sync::{oneshot, select};
/// let (tx, rx) = oneshot::channel::<u32>();
/// tx.send(7).unwrap();
/// let out = select! {
///     Ok(v) = rx => v,
///     _ = std::future::pending::<()>() => unreachable!(),
/// };
/// assert_eq!(out, 7);
///
/// // A pattern that does not match disables its branch; with none left, `else` runs.
/// let out = select! {
///     biased;
///     Some(v) = async { None::<u32> } => v,
///     else => 0,
/// };
/// assert_eq!(out, 0);
/// # });
/// ```
#[macro_export]
macro_rules! select {
    (biased; $($t:tt)*) => {
        $crate::__select_impl!(@parse true [] $($t)*)
    };
    ($($t:tt)*) => {
        $crate::__select_impl!(@parse false [] $($t)*)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_impl {
    // Parsing: normalise every branch to `(name index (pattern) (future) (cond) (handler))`.
    (@parse $b:tt [$($acc:tt)*]) => {
        $crate::__select_impl!(@names_then_emit $b [$($acc)*] (
            ::core::panic!("select!: all branches are disabled and there is no else branch")
        ))
    };
    (@parse $b:tt [$($acc:tt)*] else => $e:expr $(,)?) => {
        $crate::__select_impl!(@names_then_emit $b [$($acc)*] ($e))
    };
    (@parse $b:tt [$($acc:tt)*] $p:pat = $f:expr, if $c:expr => $h:block, $($rest:tt)*) => {
        $crate::__select_impl!(@parse $b [$($acc)* (($p) ($f) ($c) ($h))] $($rest)*)
    };
    (@parse $b:tt [$($acc:tt)*] $p:pat = $f:expr, if $c:expr => $h:block $($rest:tt)*) => {
        $crate::__select_impl!(@parse $b [$($acc)* (($p) ($f) ($c) ($h))] $($rest)*)
    };
    (@parse $b:tt [$($acc:tt)*] $p:pat = $f:expr, if $c:expr => $h:expr, $($rest:tt)*) => {
        $crate::__select_impl!(@parse $b [$($acc)* (($p) ($f) ($c) ($h))] $($rest)*)
    };
    (@parse $b:tt [$($acc:tt)*] $p:pat = $f:expr, if $c:expr => $h:expr) => {
        $crate::__select_impl!(@parse $b [$($acc)* (($p) ($f) ($c) ($h))])
    };
    (@parse $b:tt [$($acc:tt)*] $p:pat = $f:expr => $h:block, $($rest:tt)*) => {
        $crate::__select_impl!(@parse $b [$($acc)* (($p) ($f) (true) ($h))] $($rest)*)
    };
    (@parse $b:tt [$($acc:tt)*] $p:pat = $f:expr => $h:block $($rest:tt)*) => {
        $crate::__select_impl!(@parse $b [$($acc)* (($p) ($f) (true) ($h))] $($rest)*)
    };
    (@parse $b:tt [$($acc:tt)*] $p:pat = $f:expr => $h:expr, $($rest:tt)*) => {
        $crate::__select_impl!(@parse $b [$($acc)* (($p) ($f) (true) ($h))] $($rest)*)
    };
    (@parse $b:tt [$($acc:tt)*] $p:pat = $f:expr => $h:expr) => {
        $crate::__select_impl!(@parse $b [$($acc)* (($p) ($f) (true) ($h))])
    };

    // Give each branch a name (a variant of the output enum) and a tuple index.
    (@names_then_emit $b:tt [$($branch:tt)*] $else:tt) => {
        $crate::__select_impl!(@number $b [] [$($branch)*]
            [_b0 _b1 _b2 _b3 _b4 _b5 _b6 _b7 _b8 _b9 _b10 _b11 _b12 _b13 _b14 _b15
             _b16 _b17 _b18 _b19 _b20 _b21 _b22 _b23 _b24 _b25 _b26 _b27 _b28 _b29 _b30 _b31
             _b32 _b33 _b34 _b35 _b36 _b37 _b38 _b39 _b40 _b41 _b42 _b43 _b44 _b45 _b46 _b47
             _b48 _b49 _b50 _b51 _b52 _b53 _b54 _b55 _b56 _b57 _b58 _b59 _b60 _b61 _b62 _b63]
            [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30
             31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57
             58 59 60 61 62 63]
            $else)
    };
    (@number $b:tt [$($done:tt)*] [$first:tt $($branch:tt)*] [$n:ident $($ns:ident)*] [$i:tt $($is:tt)*] $else:tt) => {
        $crate::__select_impl!(@number $b [$($done)* ($n $i $first)] [$($branch)*] [$($ns)*] [$($is)*] $else)
    };
    (@number $b:tt [$($done:tt)*] [] [$($ns:ident)*] [$($is:tt)*] $else:tt) => {
        $crate::__select_impl!(@emit $b [$($done)*] $else)
    };
    (@emit $biased:tt [$( ($name:ident $i:tt (($p:pat) ($f:expr) ($c:expr) ($h:expr))) )*] ($else:expr)) => {{
        #[allow(non_camel_case_types, dead_code)]
        enum __SelectOut<$($name,)*> {
            $($name($name),)*
            __Disabled,
        }
        const __BRANCHES: u32 = 0 $(+ { let _ = $i; 1 })*;
        let mut __disabled: u64 = 0;
        $(
            if !$c {
                __disabled |= 1u64 << $i;
            }
        )*
        let __out = {
            let mut __futs = ($( ::core::future::IntoFuture::into_future($f), )*);
            let __futs = &mut __futs;
            ::core::future::poll_fn(|cx| {
                let __start = if $biased { 0 } else { $crate::__private::thread_rng_n(__BRANCHES) };
                let mut __any_pending = false;
                for __k in 0..__BRANCHES {
                    let __branch = if __start + __k >= __BRANCHES {
                        __start + __k - __BRANCHES
                    } else {
                        __start + __k
                    };
                    $(
                        if __branch == $i {
                            if __disabled & (1u64 << $i) != 0 {
                                continue;
                            }
                            // SAFETY: the tuple lives in the enclosing block until this
                            // `poll_fn` completes or is dropped, and is never moved, so
                            // its fields may be pinned in place.
                            let __fut = unsafe { ::core::pin::Pin::new_unchecked(&mut __futs.$i) };
                            match ::core::future::Future::poll(__fut, cx) {
                                ::core::task::Poll::Ready(__v) => {
                                    #[allow(unused_variables, unreachable_patterns)]
                                    match &__v {
                                        $crate::__private::clean_pattern!($p) => {}
                                        _ => {
                                            __disabled |= 1u64 << $i;
                                            continue;
                                        }
                                    }
                                    return ::core::task::Poll::Ready(__SelectOut::$name(__v));
                                }
                                ::core::task::Poll::Pending => {
                                    __any_pending = true;
                                    continue;
                                }
                            }
                        }
                    )*
                }
                if __any_pending {
                    ::core::task::Poll::Pending
                } else {
                    ::core::task::Poll::Ready(__SelectOut::__Disabled)
                }
            }).await
        };
        #[allow(unreachable_patterns, unreachable_code)]
        match __out {
            $( __SelectOut::$name($p) => $h, )*
            __SelectOut::__Disabled => $else,
            _ => ::core::unreachable!("select!: a branch's output stopped matching its pattern"),
        }
    }};
}
