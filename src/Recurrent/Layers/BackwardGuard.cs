namespace Recurrent.Layers;

/// <summary>
/// Pairs a layer's Backward with its Forward. A layer keeps one call's saved state, and its Backward kernels turn that
/// state into gradients in place (or read state the next Forward overwrites), so a Backward with no Forward before it,
/// or a second Backward after one Forward, would return garbage without a word; the guard throws instead.
///
/// A module used for two calls in one step (an Embedding shared by two models) keeps only the last call's state. The
/// guard cannot tell that apart at the first Backward from a Forward whose output was simply dropped (a validation
/// pass, a loss computed for logging) followed by the Forward that is trained — both are two Forwards and then a
/// Backward, and the second is legitimate — so it refuses where a Backward is certainly wrong: the second Backward
/// after those Forwards, for which no saved state is left, is told that the module was called more than once.
/// </summary>
internal sealed class BackwardGuard
{
    private int _forwards;  // Forward calls since the last Backward (their saved state is the last one's)
    private int _served;    // how many Forward calls the last Backward's saved state stood for

    /// <summary>A Forward has kept its state for Backward (call once the inputs are checked: a Forward that throws on
    /// them has changed nothing).</summary>
    public void Forward()
    {
        if (_forwards < int.MaxValue) _forwards++;
    }

    /// <summary>
    /// Backward is about to use the saved state (call first, so that a Backward without a Forward is told so rather
    /// than that its gradient has the wrong shape): throws when no Forward's state is left for it, else marks it used.
    /// The message names the layer by its ToString, called only then (a Backward allocates nothing).
    /// </summary>
    public void Backward(object layer)
    {
        if (_forwards == 0)
            throw new InvalidOperationException(_served > 1
                ? $"{layer}: Forward was called {_served} times before the last Backward; its saved input was the last call's, so Backward for an earlier call would be wrong — use one module per call or call Backward in between"
                : $"{layer}: Backward without a matching Forward (call Forward, then Backward once)");
        (_served, _forwards) = (_forwards, 0);
    }
}
