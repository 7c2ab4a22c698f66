using Pipeline.Actors.Output;

namespace Pipeline.Actors.Stages;

/// <summary>
/// A sink that holds only the newest cumulative output: a slow reader skips intermediate states instead of
/// letting them pile up, so memory per request stays bounded whatever the subscriber's speed.
/// The reader turns cumulative outputs into deltas itself when it wants them.
/// </summary>
public sealed class LatestOutputSink : ReadableOutputSink
{
    RequestOutput? _latest;

    protected override void Keep(RequestOutput output) => _latest = output;

    protected override bool TryTake(out RequestOutput output)
    {
        output = _latest!;
        _latest = null;
        return output != null;
    }
}
