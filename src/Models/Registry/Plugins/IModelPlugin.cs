namespace Pipeline.Models.Registry;

/// <summary>
/// A model plugin (vLLM's out-of-tree model registration): a public class with a parameterless constructor in an
/// assembly loaded with <c>--model-plugin PATH.dll</c>. Its <see cref="Register"/> adds architectures by name; a model
/// whose config.json names one of them then loads through it as through a built-in architecture.
/// </summary>
public interface IModelPlugin
{
    void Register(ModelRegistryBuilder registry);
}
