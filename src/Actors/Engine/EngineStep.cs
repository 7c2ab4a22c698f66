using Pipeline.Models.Runner;

namespace Pipeline.Actors.Engine;

/// <summary>A step the engine core handed out to run on the device: its id (increasing from 1) and its plan.</summary>
public sealed record EngineStep(long StepId, SchedulerOutput Plan);
