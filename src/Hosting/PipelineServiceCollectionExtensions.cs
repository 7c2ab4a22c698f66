using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using Pipeline.Streams;

namespace Pipeline.Hosting;

/// <summary>Pipeline on the Generic Host, the way .NET libraries plug in: <c>builder.Services.AddPipeline(...)</c>.</summary>
public static class PipelineServiceCollectionExtensions
{
    /// <summary>
    /// Adds an Akka.NET actor system (Akka.Hosting, named <paramref name="actorSystemName"/>, with Pipeline's dispatchers)
    /// and the served engine as a hosted service; once the host has started, <see cref="PipelineEngine"/> resolves from DI.
    /// </summary>
    public static IServiceCollection AddPipeline(this IServiceCollection services, PipelineHostingOptions options, string actorSystemName = "pipeline")
    {
        services.AddAkka(actorSystemName, (akka, _) => akka.WithPipelineDispatchers());
        return services.AddPipelineEngine(options);
    }

    /// <summary>The same with default options: one replica of <paramref name="engine"/>'s model on its device.</summary>
    public static IServiceCollection AddPipeline(this IServiceCollection services, EngineArgs engine, string actorSystemName = "pipeline") =>
        services.AddPipeline(new PipelineHostingOptions { Engine = engine }, actorSystemName);

    /// <summary>Only the engine, for a host that calls AddAkka itself (add <see cref="WithPipelineDispatchers"/> there).</summary>
    public static IServiceCollection AddPipelineEngine(this IServiceCollection services, PipelineHostingOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<PipelineEngineService>();
        services.AddHostedService(sp => sp.GetRequiredService<PipelineEngineService>());
        services.AddSingleton(sp => sp.GetRequiredService<PipelineEngineService>().Engine);
        return services;
    }

    /// <summary>Pipeline's dispatchers (a pinned thread per GPU worker, a pool for the CPU stages) and its shutdown settings.</summary>
    public static AkkaConfigurationBuilder WithPipelineDispatchers(this AkkaConfigurationBuilder akka) =>
        akka.AddHocon(ConfigurationFactory.ParseString(Dispatchers.Hocon), HoconAddMode.Prepend);
}
