//! The gathering macros: `gather!`/`try_gather!` (asyncio's names, evaluate to a
//! future) and `join!`/`try_join!` (tokio's names, awaited in place), plus `pin!`.
//!
//! One implementation serves all four: `__gather_impl!` turns the futures into a single
//! future that polls every unfinished branch on each wake-up. Branch `i`'s output is
//! kept in a `MaybeDone` slot until all are done, so a finished branch is never polled
//! again. The start branch rotates by one on every poll (the branch polled first on
//! one wake-up is polled last on the next, so none is starved by the ones before it);
//! with `biased;` the branches are always polled in the order written.
//!
//! Re-polling every branch is right for the handful of branches a macro names; for
//! many futures use `gather_all`/`as_completed`, whose cost per wake-up is one child
//! poll. Branches are named by identifiers taken from a fixed list, so at most 64
//! futures per invocation.

/// Runs the futures concurrently inside the calling task and returns a tuple of their
/// outputs (asyncio's `await asyncio.gather(a, b, c)`).
///
/// Nothing is spawned; the futures run interleaved in the task awaiting the macro.
/// Evaluates to a future: `gather!(a, b).await` (see [`join!`](crate::join) for the
/// form that awaits in place). The future expressions (anything `IntoFuture`) are
/// evaluated when the macro is, in order. On each wake-up every unfinished future is
/// polled, starting one branch further along each time; write `biased;` first to
/// always poll them in the order written. At most 64 futures.
///
/// ```
/// # magpie_sync::__block_on(async {
/// let (tx, rx) = magpie_sync::oneshot::channel();
/// // `b` needs `a` to run concurrently with it, or it would wait forever.
/// let a = async move { tx.send(2).unwrap(); "a" };
/// let b = async move { rx.await.unwrap() * 10 };
/// assert_eq!(magpie_sync::gather!(a, b).await, ("a", 20));
/// assert_eq!(magpie_sync::gather!(biased; async { 1 }, async { 2 }).await, (1, 2));
/// # });
/// ```
#[macro_export]
macro_rules! gather {
    () => { async {} };
    (biased;) => { async {} };
    (biased; $($fut:expr),+ $(,)?) => {
        $crate::__gather_impl!(@start gather true $($fut,)+)
    };
    ($($fut:expr),+ $(,)?) => {
        $crate::__gather_impl!(@start gather false $($fut,)+)
    };
}

/// Runs futures that yield `Result`s concurrently inside the calling task: gives
/// `Ok((a, b, ...))` when all succeed, or the first `Err` (in completion order), at
/// which point the other futures are dropped (asyncio's `gather` without
/// `return_exceptions`). All must share the error type.
///
/// Evaluates to a future (see [`try_join!`](crate::try_join) for the form that awaits
/// in place); polling order and `biased;` are as for [`gather!`](crate::gather). The
/// other futures are dropped before the error is returned.
///
/// ```
/// # magpie_sync::__block_on(async {
/// let ok = magpie_sync::try_gather!(async { Ok::<_, &str>(1) }, async { Ok(2) });
/// assert_eq!(ok.await, Ok((1, 2)));
///
/// let err = magpie_sync::try_gather!(
///     async { Err::<u32, _>("boom") },
///     std::future::pending::<Result<u32, &str>>(), // dropped when the first fails
/// );
/// assert_eq!(err.await, Err("boom"));
/// # });
/// ```
#[macro_export]
macro_rules! try_gather {
    () => { async { ::core::result::Result::<(), ::core::convert::Infallible>::Ok(()) } };
    (biased;) => { $crate::try_gather!() };
    (biased; $($fut:expr),+ $(,)?) => {
        $crate::__gather_impl!(@start try_gather true $($fut,)+)
    };
    ($($fut:expr),+ $(,)?) => {
        $crate::__gather_impl!(@start try_gather false $($fut,)+)
    };
}

/// Waits on several futures concurrently inside the calling task and evaluates to the
/// tuple of their outputs, in the order written (tokio's `join!`).
///
/// `join!(a, b)` is `gather!(a, b).await`: it must be used inside an `async` block or
/// function. The futures run interleaved in the current task (nothing is spawned, so
/// they do not run in parallel on several threads; spawn tasks for that). On each
/// wake-up every unfinished future is polled, starting one branch further along each
/// time so that no branch is starved; with `biased;` first they are always polled in
/// the order written. A finished future is never polled again. At most 64 futures.
///
/// ```
/// # magpie_sync::__block_on(async {
/// use magpie_sync::{join, oneshot};
///
/// let (tx, rx) = oneshot::channel();
/// let (a, b, c) = join!(
///     async { rx.await.unwrap() + 1 }, // needs the second branch to run first
///     async { tx.send(41).unwrap(); "sent" },
///     std::future::ready('c'),
/// );
/// assert_eq!((a, b, c), (42, "sent", 'c'));
///
/// let (x, y) = join!(biased; async { 1 }, async { 2 });
/// assert_eq!(x + y, 3);
/// # });
/// ```
#[macro_export]
macro_rules! join {
    ($($t:tt)*) => {
        $crate::gather!($($t)*).await
    };
}

/// Waits on several `Result` futures concurrently inside the calling task: evaluates
/// to `Ok` of the tuple of their values, or to the first `Err`, as soon as one fails
/// (tokio's `try_join!`).
///
/// `try_join!(a, b)` is `try_gather!(a, b).await`, and must be used inside an `async`
/// block or function. All futures share the error type. When one fails, the others
/// (finished or not) are dropped before the error is returned, so work in them stops
/// at its current `.await`. Polling order and `biased;` are as for
/// [`join!`](crate::join).
///
/// ```
/// # magpie_sync::__block_on(async {
/// use magpie_sync::try_join;
///
/// async fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
///     s.parse()
/// }
///
/// assert_eq!(try_join!(parse("1"), parse("2")), Ok((1, 2)));
/// // The pending future is dropped as soon as `parse("x")` fails.
/// let never = std::future::pending::<Result<u32, _>>();
/// assert!(try_join!(parse("1"), parse("x"), never).is_err());
/// assert_eq!(try_join!(biased; parse("3")), Ok((3,)));
/// # });
/// ```
#[macro_export]
macro_rules! try_join {
    () => { async { ::core::result::Result::Ok(()) }.await };
    (biased;) => { $crate::try_join!() };
    ($($t:tt)*) => {
        $crate::try_gather!($($t)*).await
    };
}

/// Pins values on the stack (tokio's `pin!`): each named variable is shadowed by a
/// `Pin<&mut T>` to its value, which is moved into the current scope and can no
/// longer be moved.
///
/// Use it to poll a future by reference, for example across the iterations of a loop
/// with [`select!`](crate::select), or to call a method taking `Pin<&mut Self>`. Two
/// forms: `pin!(a, b);` pins existing variables, and
/// `pin! { let a = expr; let b = expr; }` declares and pins new ones.
///
/// ```
/// # magpie_sync::__block_on(async {
/// use magpie_sync::{oneshot, pin, select};
///
/// let (tx, rx) = oneshot::channel::<u32>();
/// let sleep_forever = std::future::pending::<()>();
/// pin!(rx, sleep_forever);
///
/// let mut tx = Some(tx);
/// let got = loop {
///     select! {
///         v = &mut rx => break v.unwrap(),
///         _ = &mut sleep_forever => unreachable!(),
///         _ = async {}, if tx.is_some() => tx.take().unwrap().send(5).unwrap(),
///     }
/// };
/// assert_eq!(got, 5);
///
/// pin! {
///     let answer = async { 42 };
/// }
/// assert_eq!(answer.as_mut().await, 42);
/// # });
/// ```
#[macro_export]
macro_rules! pin {
    ($($x:ident),* $(,)?) => {
        $(
            // `core::pin::pin!` in a `let` initialiser: the value lives as long as
            // this scope (temporary lifetime extension), behind the `Pin`.
            #[allow(unused_mut)]
            let mut $x = ::core::pin::pin!($x);
        )*
    };
    ($(let $x:ident = $init:expr;)*) => {
        $(
            let $x = $init;
            $crate::pin!($x);
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __gather_impl {
    // Name every future and give it its branch index, then emit.
    (@start $kind:ident $biased:tt $($fut:expr,)+) => {
        $crate::__gather_impl!(@munch $kind $biased []
            [_f0 _f1 _f2 _f3 _f4 _f5 _f6 _f7 _f8 _f9 _f10 _f11 _f12 _f13 _f14 _f15
             _f16 _f17 _f18 _f19 _f20 _f21 _f22 _f23 _f24 _f25 _f26 _f27 _f28 _f29 _f30 _f31
             _f32 _f33 _f34 _f35 _f36 _f37 _f38 _f39 _f40 _f41 _f42 _f43 _f44 _f45 _f46 _f47
             _f48 _f49 _f50 _f51 _f52 _f53 _f54 _f55 _f56 _f57 _f58 _f59 _f60 _f61 _f62 _f63]
            [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30
             31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57
             58 59 60 61 62 63]
            $($fut,)+)
    };
    (@munch $kind:ident $biased:tt [$($acc:tt)*] [$name:ident $($names:ident)*]
        [$i:tt $($is:tt)*] $fut:expr, $($rest:tt)*) => {
        $crate::__gather_impl!(@munch $kind $biased [$($acc)* ($name $i $fut)] [$($names)*]
            [$($is)*] $($rest)*)
    };
    (@munch gather $biased:tt [$(($name:ident $i:tt $fut:expr))*] [$($un:ident)*]
        [$($ui:tt)*]) => {{
        let __futs = ($( $crate::__private::MaybeDone::new(
            ::core::future::IntoFuture::into_future($fut)), )*);
        async move {
            let ($($name,)*) = __futs;
            $( let mut $name = ::core::pin::pin!($name); )*
            let mut __turn = $crate::__private::Turn::new($biased, 0 $(+ { let _ = $i; 1 })*);
            ::core::future::poll_fn(|cx| {
                let __start = __turn.next();
                let mut __done = true;
                // Branches `start..n` on the first pass, then `0..start` (one expansion
                // per branch keeps the code, and any type error, single).
                for __pass in 0..2u32 {
                    $( if ($i >= __start) == (__pass == 0) {
                        __done &= $name.as_mut().poll_done(cx);
                    } )*
                }
                if !__done {
                    return ::core::task::Poll::Pending;
                }
                ::core::task::Poll::Ready(($(
                    $name.as_mut().take_output().expect("gather!: output taken twice"),
                )*))
            }).await
        }
    }};
    (@munch try_gather $biased:tt [$(($name:ident $i:tt $fut:expr))*] [$($un:ident)*]
        [$($ui:tt)*]) => {{
        let __futs = ($( $crate::__private::TryMaybeDone::new(
            ::core::future::IntoFuture::into_future($fut)), )*);
        async move {
            let ($($name,)*) = __futs;
            $( let mut $name = ::core::pin::pin!($name); )*
            let mut __turn = $crate::__private::Turn::new($biased, 0 $(+ { let _ = $i; 1 })*);
            ::core::future::poll_fn(|cx| {
                let __start = __turn.next();
                let mut __done = true;
                for __pass in 0..2u32 {
                    $( if ($i >= __start) == (__pass == 0) {
                        match $name.as_mut().poll_try(cx) {
                            ::core::task::Poll::Ready(::core::result::Result::Ok(())) => {}
                            ::core::task::Poll::Ready(::core::result::Result::Err(e)) => {
                                return ::core::task::Poll::Ready(
                                    ::core::result::Result::Err(e));
                            }
                            ::core::task::Poll::Pending => __done = false,
                        }
                    } )*
                }
                if !__done {
                    return ::core::task::Poll::Pending;
                }
                ::core::task::Poll::Ready(::core::result::Result::Ok(($(
                    $name.as_mut().take_output().expect("try_gather!: output taken twice"),
                )*)))
            }).await
            // On `Err`, the `async` block returns here: every branch is dropped before
            // the error reaches the caller.
        }
    }};
}
