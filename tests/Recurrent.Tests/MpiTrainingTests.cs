using System.Diagnostics;
using Recurrent.IO;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// `mpirun -np 2 recurrent train …` for real: Open MPI's launcher starting two ranks of the built CLI, checked against
/// one process, killed, and resumed at another size. Skipped where Open MPI is not installed (.ci/run installs it).
/// </summary>
[Collection("mpirun")] // two ranks use both cores: one job at a time
public sealed class MpiTrainingTests : IClassFixture<WordTaskFixture>, IClassFixture<Seq2SeqTaskFixture>
{
    private readonly WordTaskFixture _words;
    private readonly Seq2SeqTaskFixture _pairs;
    public MpiTrainingTests(WordTaskFixture words, Seq2SeqTaskFixture pairs) => (_words, _pairs) = (words, pairs);

    private static readonly string[] TinyCharLm =
        ["--data", CharText(), "--hidden", "12", "--layers", "2", "--embedding", "6", "--seq-len", "9", "--batch", "6",
         "--dropout", "0", "--threads", "1", "--eval-every", "5", "--sample-every", "0", "--seed", "4"];

    // Weights of two ranks equal those of one process up to float32 summation order, after a few Adam steps.
    private const float Tolerance = 5e-5f;

    private static string CharText()
    {
        string path = Path.Combine(Path.GetTempPath(), "recurrent-mpi-text.txt");
        if (!File.Exists(path))
            File.WriteAllText(path, string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs! ", 40)));
        return path;
    }

    [MpiFact]
    public void CharLmOnTwoRanksMatchesOneProcess()
    {
        using var dir = new TempDir();
        string one = dir.Sub("one"), two = dir.Sub("two");
        Assert.Equal(0, Cli(1, [.. TinyCharLm, "--steps", "20", "--out", one]).Code);
        var run = Cli(2, [.. TinyCharLm, "--steps", "20", "--out", two, "--json"]);
        Assert.True(run.Code == 0, run.Stderr);
        Assert.StartsWith("{\"steps\":20,", run.Stdout); // rank 0 alone prints, and nothing but the JSON
        AssertSameWeights(one, two);
    }

    [MpiFact]
    public void OverlappedReductionGivesTheSameWeightsAsReducingAfterBackward()
    {
        using var dir = new TempDir();
        string after = dir.Sub("after"), during = dir.Sub("during");
        Assert.Equal(0, Cli(2, [.. TinyCharLm, "--steps", "12", "--out", after, "--overlap", "off"]).Code);
        Assert.Equal(0, Cli(2, [.. TinyCharLm, "--steps", "12", "--out", during, "--overlap", "on"]).Code);
        AssertSameWeights(after, during, exact: true);
        // The translation model's output layer is summed while the decoder's backward runs.
        string[] translate = ["--task", "translate", "--train", _pairs.TranslateTrain, .. Seq2SeqTaskFixture.TinyTranslate, "--steps", "8"];
        Assert.Equal(0, Cli(2, [.. translate, "--out", after + "-mt", "--overlap", "off"]).Code);
        Assert.Equal(0, Cli(2, [.. translate, "--out", during + "-mt", "--overlap", "on"]).Code);
        AssertSameWeights(after + "-mt", during + "-mt", exact: true);
    }

    [MpiFact]
    public void TaggerAndTranslatorOnTwoRanksMatchOneProcess()
    {
        using var dir = new TempDir();
        // A batch of 5 sentences: shares of 3 and 2, weighted by their tokens.
        string[] tag = ["--task", "tag", "--train", _words.TagTrain, "--dev", _words.TagDev, .. WordTaskFixture.With(WordTaskFixture.TinyTag, ["--batch", "5"]), "--steps", "12"];
        string[] translate = ["--task", "translate", "--train", _pairs.TranslateTrain, "--dev", _pairs.TranslateDev, .. Seq2SeqTaskFixture.TinyTranslate, "--steps", "12"];
        foreach (var (name, flags) in new[] { ("tag", tag), ("translate", translate) })
        {
            string one = dir.Sub(name + "1"), two = dir.Sub(name + "2");
            var single = Cli(1, [.. flags, "--out", one, "--json"]);
            var ranks = Cli(2, [.. flags, "--out", two, "--json"]);
            Assert.True(single.Code == 0 && ranks.Code == 0, single.Stderr + ranks.Stderr);
            AssertSameWeights(one, two);
        }
    }

    [MpiFact]
    public void ACheckpointOfTwoRanksResumesInOneProcessAndTheOtherWayRound()
    {
        using var dir = new TempDir();
        string straight = dir.Sub("straight"), twoThenOne = dir.Sub("2-1"), oneThenTwo = dir.Sub("1-2");
        Assert.Equal(0, Cli(1, [.. TinyCharLm, "--steps", "16", "--out", straight]).Code);
        Assert.Equal(0, Cli(2, [.. TinyCharLm, "--steps", "8", "--out", twoThenOne]).Code);
        Assert.Equal(0, Cli(1, ["--resume", twoThenOne, "--steps", "16", "--threads", "1"]).Code);
        Assert.Equal(0, Cli(1, [.. TinyCharLm, "--steps", "8", "--out", oneThenTwo]).Code);
        Assert.Equal(0, Cli(2, ["--resume", oneThenTwo, "--steps", "16", "--threads", "1"]).Code);
        AssertSameWeights(straight, twoThenOne);
        AssertSameWeights(straight, oneThenTwo);
    }

    [MpiFact]
    public void ResumingOnAsManyRanksIsExactWithDropout()
    {
        // Each rank's dropout stream is saved with the checkpoint and continued by the rank that resumes it.
        using var dir = new TempDir();
        string straight = dir.Sub("straight"), resumed = dir.Sub("resumed");
        string[] flags = WordTaskFixture.With(TinyCharLm, ["--dropout", "0.3"]);
        Assert.Equal(0, Cli(2, [.. flags, "--steps", "16", "--out", straight]).Code);
        Assert.Equal(0, Cli(2, [.. flags, "--steps", "8", "--out", resumed]).Code);
        Assert.Equal(0, Cli(2, ["--resume", resumed, "--steps", "16", "--threads", "1"]).Code);
        AssertSameWeights(straight, resumed, exact: true);
    }

    [MpiFact]
    public void AKilledRankEndsTheJobAndLeavesTheLastCheckpointWhole()
    {
        using var dir = new TempDir();
        string model = dir.Sub("model");
        using var job = ChildCli.UnderMpirun(2, dir.Root, dir.Sub("job"),
            ["train", .. WordTaskFixture.With(TinyCharLm, ["--eval-every", "0"]), "--steps", "1000000", "--checkpoint-every", "3", "--out", model]);
        string log = Path.Combine(model, "log.jsonl");
        Assert.True(job.WaitUntil(() => File.Exists(log) && File.ReadAllLines(log).Length >= 3, TimeSpan.FromSeconds(60)),
            "no training progress: " + job.Stderr);
        int rank1 = RankPids(job.Id).Single(r => r.Rank == 1).Pid;
        var clock = Stopwatch.StartNew();
        Process.GetProcessById(rank1).Kill();
        Assert.NotEqual(0, job.Wait(TimeSpan.FromSeconds(30))); // throws if the job goes on
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30));
        Assert.Contains("process rank 1", job.Stderr); // mpirun's line names the killed rank
        Assert.Contains($"{model} keeps its last checkpoint", job.Stderr); // rank 0's line
        // The checkpoint resumes (in one process), whatever step the kill came at.
        var resumed = Cli(1, ["--resume", model, "--steps", "1", "--threads", "1", "--json"]);
        Assert.True(resumed.Code == 0, resumed.Stderr);
    }

    [MpiFact]
    public void SigusrOneToMpirunStopsEveryRankAfterTheSameStepAndSaves()
    {
        using var dir = new TempDir();
        string model = dir.Sub("model");
        using var job = ChildCli.UnderMpirun(2, dir.Root, dir.Sub("job"),
            ["train", .. WordTaskFixture.With(TinyCharLm, ["--eval-every", "0"]), "--steps", "1000000", "--out", model]);
        string log = Path.Combine(model, "log.jsonl");
        Assert.True(job.WaitUntil(() => File.Exists(log) && File.ReadAllLines(log).Length >= 3, TimeSpan.FromSeconds(60)),
            "no training progress: " + job.Stderr);
        job.Signal(ChildCli.SigUsr1); // which mpirun forwards to every rank
        Assert.True(job.Wait(TimeSpan.FromSeconds(60)) == 0, job.Stderr);
        Assert.Contains("stopping after this step and saving (SIGUSR1", job.Stderr);
        // The checkpoint is of the last step trained: it resumes from there.
        long last = System.Text.Json.JsonDocument.Parse(File.ReadAllLines(log)[^1]).RootElement.GetProperty("step").GetInt64();
        var resumed = Cli(1, ["--resume", model, "--steps", (last + 1).ToString(), "--threads", "1", "--json"]);
        Assert.True(resumed.Code == 0, resumed.Stderr);
        Assert.Contains("\"steps_this_run\":1,", resumed.Stdout);
    }

    private static void AssertSameWeights(string expectedDir, string actualDir, bool exact = false)
    {
        var expected = SafeTensorsFile.Read(Path.Combine(expectedDir, "weights.safetensors"));
        var actual = SafeTensorsFile.Read(Path.Combine(actualDir, "weights.safetensors"));
        Assert.Equal(expected.Names, actual.Names);
        foreach (string name in expected.Names)
        {
            var e = expected.Float(name).Span.ToArray();
            var a = actual.Float(name).Span.ToArray();
            if (exact) { Assert.Equal(e, a); continue; }
            for (int i = 0; i < e.Length; i++)
                Assert.True(Math.Abs(e[i] - a[i]) <= Tolerance * (1 + Math.Abs(e[i])), $"{name}[{i}]: {e[i]} against {a[i]}");
        }
    }

    private static (int Code, string Stdout, string Stderr) Cli(int ranks, string[] args)
    {
        string prefix = Path.Combine(Path.GetTempPath(), "recurrent-mpi-" + Guid.NewGuid().ToString("N"));
        using var run = ChildCli.UnderMpirun(ranks, Path.GetTempPath(), prefix, ["train", .. args]);
        int code = run.Wait(TimeSpan.FromMinutes(3));
        var result = (code, run.Stdout, run.Stderr);
        File.Delete(run.StdoutPath);
        File.Delete(run.StderrPath);
        return result;
    }

    // The ranks mpirun started: its child processes, each with OMPI_COMM_WORLD_RANK in its environment.
    private static List<(int Rank, int Pid)> RankPids(int mpirun)
    {
        var ranks = new List<(int, int)>();
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
                if (parent != mpirun) continue;
                foreach (string entry in File.ReadAllText(Path.Combine(dir, "environ")).Split('\0'))
                    if (entry.StartsWith("OMPI_COMM_WORLD_RANK=", StringComparison.Ordinal)) ranks.Add((int.Parse(entry[21..]), pid));
            }
            catch (IOException) { } // the process ended meanwhile
            catch (UnauthorizedAccessException) { }
        }
        return ranks;
    }

    private sealed class TempDir : IDisposable
    {
        private readonly string _path = Directory.CreateTempSubdirectory("mpi").FullName;
        public string Root => _path;
        public string Sub(string name) => Path.Combine(_path, name);
        public void Dispose() { try { Directory.Delete(_path, recursive: true); } catch (IOException) { } }
    }
}

[CollectionDefinition("mpirun", DisableParallelization = true)]
public sealed class MpirunCollection;

/// <summary>A fact that needs Open MPI's mpirun on PATH (Debian's openmpi-bin); skipped without it.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "needs Linux and Open MPI";
        else if (!(Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "mpirun"))))
            Skip = "mpirun not found: install openmpi-bin (.ci/run does)";
    }
}
