namespace Pipeline.Models.Runner;

/// <summary>Runs one step plan on a device and returns what it sampled (the model runner, or a test double).</summary>
public interface IModelExecutor
{
    ModelRunnerOutput Execute(SchedulerOutput plan);
}
