using Pipeline.Models.Registry;

namespace Pipeline.ModelPlugin;

/// <summary>What the plugin registers: config.json's "architectures": ["MyModelForCausalLM"] loads <see cref="MyModelForCausalLM"/>.</summary>
public sealed class MyModelPlugin : IModelPlugin
{
    public void Register(ModelRegistryBuilder registry) =>
        registry.AddCausalLM("MyModelForCausalLM", (c, w, t, d) => new MyModelForCausalLM(c, w, t, d),
            family: "my_model", exampleModels: "any Llama-layout checkpoint whose config.json names MyModelForCausalLM");
}
