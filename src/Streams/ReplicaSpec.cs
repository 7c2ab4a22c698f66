using Pipeline.Actors.Engine;

namespace Pipeline.Streams;

/// <summary>One data-parallel replica: a model loaded on its device and the engine arguments to serve it with.</summary>
public sealed record ReplicaSpec(ModelContext Context, EngineArgs Args);
