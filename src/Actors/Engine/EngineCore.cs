using Pipeline.Models.Runner;

namespace Pipeline.Actors.Engine;

/// <summary>
/// The engine-core loop (vLLM's EngineCore): admits requests, hands out step plans (<see cref="NextStep"/>) and folds the
/// device's results back (<see cref="Complete"/>, <see cref="Fail"/>). It does not run steps itself: its owner (the
/// offline <see cref="LLM"/> through <see cref="Step"/>, or an engine-core actor) sends them to the device, which runs
/// them in the order they were handed out. Up to <see cref="SchedulerConfig.MaxInFlightSteps"/> steps are in flight, so
/// with async scheduling step N+1 is planned while step N runs. Owned by one thread (or actor); not thread-safe.
/// </summary>
public sealed class EngineCore
{
    readonly Queue<EngineStep> _inFlight = new();
    readonly IModelExecutor? _executor;
    // Generation: failed steps in a row per request (only requests whose last step failed are here).
    readonly Dictionary<string, int> _consecutiveFailures = new();
    long _lastStepId;

    /// <param name="executor">Runs steps for <see cref="Step"/>; owners that run steps elsewhere pass none.</param>
    public EngineCore(Scheduler scheduler, EngineCorePolicy policy, IModelExecutor? executor = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(policy);
        Scheduler = scheduler;
        Policy = policy;
        _executor = executor;
    }

    /// <summary>A generation engine core that runs its own steps on <paramref name="executor"/>.</summary>
    public EngineCore(Scheduler scheduler, IModelExecutor executor) : this(scheduler, EngineCorePolicy.Generation, executor) { }

    public Scheduler Scheduler { get; }
    public EngineCorePolicy Policy { get; }
    public int MaxInFlightSteps => Scheduler.Config.MaxInFlightSteps;
    /// <summary>Steps handed out and not yet completed or failed, oldest first.</summary>
    public IReadOnlyCollection<EngineStep> InFlight => _inFlight;
    public int NumInFlight => _inFlight.Count;
    public bool IsInFlight(long stepId)
    {
        foreach (var s in _inFlight) if (s.StepId == stepId) return true;
        return false;
    }
    /// <summary>Steps that ran on the device and were folded back.</summary>
    public long StepCount { get; private set; }
    public long FailedStepCount { get; private set; }

    public bool HasUnfinishedRequests => Scheduler.HasUnfinishedRequests;

    /// <summary>Queues a request; throws <see cref="ArgumentException"/> for one the scheduler refuses (see <see cref="Scheduler.AddRequest"/>).</summary>
    public void Admit(Request request) => Scheduler.AddRequest(request);

    /// <summary>Aborts requests (unknown or finished ids are ignored); outputs of steps in flight for them are dropped.</summary>
    public void Abort(IEnumerable<string> requestIds) => Scheduler.AbortRequests(requestIds);

    /// <summary>Ends requests with a terminal status (a stop string matched downstream); like <see cref="Abort"/> otherwise.</summary>
    public void Finish(IEnumerable<string> requestIds, RequestStatus status) => Scheduler.FinishRequests(requestIds, status);

    /// <summary>
    /// The next step to send to the device, or null when <see cref="MaxInFlightSteps"/> are in flight or there is nothing
    /// to do. A plan with no tokens that only reports finished or preempted ids goes to the device when the executor keeps
    /// request state (<see cref="EngineCorePolicy.ExecutorKeepsState"/>); otherwise it is folded back here.
    /// </summary>
    public EngineStep? NextStep()
    {
        if (_inFlight.Count >= MaxInFlightSteps) return null;
        if (!Scheduler.HasUnfinishedRequests && !Scheduler.HasFinishedRequests) return null;
        var plan = Scheduler.Schedule();
        if (plan.TotalNumScheduledTokens == 0)
        {
            if (plan.FinishedReqIds.Count == 0 && plan.PreemptedReqIds.Count == 0) return null;
            if (!Policy.ExecutorKeepsState)
            {
                Scheduler.UpdateFromOutput(plan, new ModelRunnerOutput());
                return null;
            }
        }
        var step = new EngineStep(++_lastStepId, plan);
        _inFlight.Enqueue(step);
        return step;
    }

    /// <summary>
    /// Step <paramref name="stepId"/> ran: folds its output into the scheduler (stop checks, freeing finished requests).
    /// A step no longer in flight is ignored (<see cref="EngineCoreOutputs.Ignored"/>); completing a newer step before an
    /// older one, or a step never handed out, throws.
    /// </summary>
    public EngineCoreOutputs Complete(long stepId, ModelRunnerOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!TakeOldest(stepId, out var step)) return EngineCoreOutputs.Stale(stepId);
        StepCount++;
        if (_consecutiveFailures.Count > 0)
            foreach (var id in step.Plan.NumScheduledTokens.Keys) _consecutiveFailures.Remove(id);
        return new EngineCoreOutputs(stepId, Scheduler.UpdateFromOutput(step.Plan, output));
    }

    /// <summary>
    /// Step <paramref name="stepId"/> failed on the device. Generation (<see cref="EngineCorePolicy.Generation"/>): the
    /// runner lost its state, so every step in flight is dropped and every running request is preempted, to be recomputed;
    /// a request of this step that was in <see cref="EngineCorePolicy.MaxConsecutiveStepFailures"/> failed steps in a row
    /// finishes with <see cref="FinishReason.Error"/> instead (one output each). Pooling: the step's requests finish with <see cref="FinishReason.Error"/> (one output each); other steps
    /// in flight stand. Ignored for a step no longer in flight, like <see cref="Complete"/>.
    /// <paramref name="failItsRequests"/> ends the step's requests with an error at once, whatever their count (a hung step).
    /// </summary>
    public EngineCoreOutputs Fail(long stepId, string reason, bool failItsRequests = false)
    {
        if (!TakeOldest(stepId, out var step)) return EngineCoreOutputs.Stale(stepId);
        FailedStepCount++;
        if (Policy.ExecutorKeepsState)
        {
            var givenUp = new List<string>();
            foreach (var id in step.Plan.NumScheduledTokens.Keys)
            {
                if (Scheduler.GetRequest(id) is not { IsFinished: false }) continue;
                int n = _consecutiveFailures[id] = _consecutiveFailures.GetValueOrDefault(id) + 1;
                if (n >= Policy.MaxConsecutiveStepFailures || failItsRequests) givenUp.Add(id);
            }
            foreach (var id in givenUp) _consecutiveFailures.Remove(id);
            // Entries of requests that ended some other way (aborted, stopped) go too.
            foreach (var id in _consecutiveFailures.Keys.Where(id => Scheduler.GetRequest(id) is not { IsFinished: false }).ToList()) _consecutiveFailures.Remove(id);
            Scheduler.FinishRequests(givenUp, RequestStatus.FinishedError);
            _inFlight.Clear();
            Scheduler.PreemptAllRunning();
            return new EngineCoreOutputs(stepId, givenUp.Select(id => new EngineCoreOutput(id, Array.Empty<int>(), FinishReason: FinishReason.Error)).ToList());
        }
        var failed = step.Plan.NumScheduledTokens.Keys.Where(id => Scheduler.GetRequest(id) is { IsFinished: false }).ToList();
        Scheduler.FinishRequests(failed, RequestStatus.FinishedError);
        Scheduler.UpdateFromOutput(step.Plan, new ModelRunnerOutput()); // only releases the step: its requests have ended
        return new EngineCoreOutputs(stepId, failed.Select(id => new EngineCoreOutput(id, Array.Empty<int>(), FinishReason: FinishReason.Error)).ToList());
    }

    /// <summary>
    /// Runs one step on this core's own executor (the offline engine): fills the step queue, runs the oldest step and folds
    /// it back. With one step in flight this is schedule, execute, update.
    /// </summary>
    public IReadOnlyList<EngineCoreOutput> Step()
    {
        var executor = _executor ?? throw new InvalidOperationException("this engine core has no executor of its own: send NextStep's plans to the device");
        while (NextStep() != null) { }
        if (_inFlight.Count == 0) return Array.Empty<EngineCoreOutput>();
        var step = _inFlight.Peek();
        return Complete(step.StepId, executor.Execute(step.Plan)).Outputs;
    }

    /// <summary>Runs <see cref="Step"/> until no step is in flight and no finished id is left to report to the runner.</summary>
    public void Drain()
    {
        while (_inFlight.Count > 0 || Scheduler.HasFinishedRequests) Step();
    }

    bool TakeOldest(long stepId, out EngineStep step)
    {
        if (stepId < 1 || stepId > _lastStepId) throw new ArgumentOutOfRangeException(nameof(stepId), stepId, $"step {stepId} was never handed out (last: {_lastStepId})");
        step = null!;
        if (_inFlight.Count == 0 || stepId < _inFlight.Peek().StepId) return false;
        if (stepId != _inFlight.Peek().StepId)
            throw new InvalidOperationException($"step {stepId} reported before step {_inFlight.Peek().StepId}: steps run and are reported in the order they were handed out");
        step = _inFlight.Dequeue();
        return true;
    }
}
