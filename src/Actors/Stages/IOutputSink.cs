using Pipeline.Actors.Output;

namespace Pipeline.Actors.Stages;

/// <summary>Where a request's outputs go: a subscriber (HTTP stream, queue publisher, library caller).</summary>
public interface IOutputSink
{
    void Write(RequestOutput output);
    void Fail(Exception error);
}
