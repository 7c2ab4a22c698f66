using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;

namespace Pipeline.Actors.Stages;

/// <summary>A client's request entering the pipeline.</summary>
public sealed record GenerateCommand(string RequestId, PromptInput Prompt, SamplingParams Params, IOutputSink Sink, int Priority = 0, string? CacheSalt = null,
    Pipeline.Models.Lora.LoRARequest? Lora = null);

/// <summary>Tokenizer stage result: the engine request, or why the request was refused.</summary>
public sealed record Tokenized(GenerateCommand Command, Request? Request, string? Prompt, Exception? Error);

/// <summary>Ask the engine core to admit a request; it answers <see cref="Admitted"/> once it has capacity.</summary>
public sealed record Admit(Tokenized Input);
public sealed record Admitted(string RequestId);

public sealed record AbortRequest(string RequestId);

/// <summary>Engine core to GPU worker: run this step.</summary>
public sealed record ExecuteStep(long StepId, SchedulerOutput Plan);
public sealed record StepDone(long StepId, ModelRunnerOutput Output);
/// <summary>The worker lost its state (crashed while running <see cref="StepId"/>); running requests must be recomputed.</summary>
public sealed record WorkerFailed(long StepId, string Reason);

/// <summary>A GPU worker (started or restarted) built its executor and takes steps.</summary>
public sealed record WorkerReady;
/// <summary>The engine core's own clock: check the step in flight against the watchdog's deadline.</summary>
public sealed record WatchdogTick;

/// <summary>Engine core to detokenizer.</summary>
public sealed record TrackRequest(Request Request, string? Prompt, IOutputSink Sink);
public sealed record EngineOutputs(IReadOnlyList<EngineCoreOutput> Outputs);
/// <summary>End a client request (abort or error) on the output side and deliver its final output.</summary>
public sealed record FinishOutput(string RequestId, FinishReason Reason, Exception? Error = null);
/// <summary>Detokenizer to engine core: stop strings ended these engine requests.</summary>
public sealed record StoppedByString(IReadOnlyList<string> EngineRequestIds);

/// <summary>Output router messages (always sent by the detokenizer, so registration precedes delivery).</summary>
public sealed record RegisterSink(string RequestId, IOutputSink Sink);
public sealed record Deliver(RequestOutput Output);
public sealed record FailRequest(string RequestId, Exception Error);

public sealed record GetStats;
/// <summary>A replica's engine core reporting its unfinished requests and which client requests ended.</summary>
public sealed record ReplicaLoad(int Replica, int Outstanding, long Steps, IReadOnlyList<string> Ended);
public sealed record ReplicaStats(int Replica, SchedulerStats Scheduler, long Steps, int Outstanding, int PendingAdmissions);

/// <summary>The device step that held a request failed (again); the request ends with this as its error's cause.</summary>
public sealed class DeviceStepException(string reason) : Exception(reason);
