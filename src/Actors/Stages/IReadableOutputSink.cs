using Pipeline.Actors.Output;

namespace Pipeline.Actors.Stages;

/// <summary>A sink its subscriber reads from: cumulative outputs until the final one, then null.</summary>
public interface IReadableOutputSink : IOutputSink
{
    Task<RequestOutput?> ReadAsync(CancellationToken ct);
}
