namespace Pipeline.Host.Tests; public class HostSmokeTests { [Fact] public void Runs() => Assert.True(true); }
