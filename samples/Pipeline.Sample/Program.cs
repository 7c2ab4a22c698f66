using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pipeline.Actors.Engine;
using Pipeline.Hosting;
using Pipeline.Models.Sampling;
using Pipeline.Streams;

// A model directory (config.json, *.safetensors, tokenizer.json) or a Hugging Face id in the hub cache.
var model = args.Length > 0 ? args[0] : "models/pipeline-tiny-en";
var greedy = new SamplingParams { Temperature = 0, MaxTokens = 16 };

// Offline, like vLLM's LLM: one batch, then done.
using (var llm = new LLM(new EngineArgs { Model = model, Device = "cpu" }))
{
    var outputs = llm.Generate([PromptInput.FromText("The Congress has")], greedy);
    Console.WriteLine($"offline: {outputs[0].Outputs[0].Text}");
}

// Served: the actor/stream pipeline as a hosted service on the Generic Host (Akka.Hosting owns the actor system).
var builder = Host.CreateApplicationBuilder();
builder.Services.AddPipeline(new EngineArgs { Model = model, Device = "cpu" });
using var host = builder.Build();
await host.StartAsync();
var engine = host.Services.GetRequiredService<PipelineEngine>();
var reply = await engine.GenerateFinalAsync(PromptInput.FromText("The Congress has"), greedy);
Console.WriteLine($"hosted: {reply.Outputs[0].Text}");
await host.StopAsync();
