package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// The -junit report is for the CI systems that read JUnit XML (GitHub Actions reporters, GitLab,
// Jenkins, Buildkite): a testsuite per scenario, a failing testcase per failing seed, whose text
// holds the violations and the command that reproduces the seed, and one passing testcase per
// scenario that carries the seed count, so that a green campaign still shows how much it ran.
// A campaign of a million seeds is not a million testcases: a CI page would choke on them and
// nobody reads the passing ones.

type junitTestSuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Time     string           `xml:"time,attr"`
	Suites   []junitTestSuite `xml:"testsuite"`
}

type junitTestSuite struct {
	Name     string          `xml:"name,attr"`
	Tests    int             `xml:"tests,attr"`
	Failures int             `xml:"failures,attr"`
	Time     string          `xml:"time,attr"`
	Cases    []junitTestCase `xml:"testcase"`
}

type junitTestCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// junitSuites builds the report from the summary's scenario rows and the failing seeds'
// records of each scenario.
func junitSuites(rows []scenarioRecord, failing map[string][]seedRecord) junitTestSuites {
	all := junitTestSuites{Name: "simrun"}
	var wall time.Duration
	for _, row := range rows {
		suite := junitTestSuite{Name: row.Scenario, Time: seconds(time.Duration(row.WallNS))}
		class := "simrun." + row.Scenario
		for _, rec := range failing[row.Scenario] {
			suite.Cases = append(suite.Cases, junitTestCase{
				Name: fmt.Sprintf("seed %d", rec.Seed), ClassName: class, Time: seconds(time.Duration(rec.WallNS)),
				Failure: failureOf(rec),
			})
		}
		suite.Cases = append(suite.Cases, junitTestCase{
			Name:      fmt.Sprintf("%d seeds, %d passed", row.Seeds, row.Seeds-row.Failed),
			ClassName: class, Time: suite.Time,
		})
		suite.Tests, suite.Failures = len(suite.Cases), len(suite.Cases)-1
		all.Tests += suite.Tests
		all.Failures += suite.Failures
		wall += time.Duration(row.WallNS)
		all.Suites = append(all.Suites, suite)
	}
	all.Time = seconds(wall)
	return all
}

// failureOf is a failing seed's failure element: the first violation as its message, every
// violation and the reproduce command as its text.
func failureOf(rec seedRecord) *junitFailure {
	f := &junitFailure{Type: "violation"}
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s seed %d: %d violation(s)\n", rec.Scenario, rec.Seed, len(rec.Violations))
	for i, v := range rec.Violations {
		line := v.Checker + ": "
		if v.Invocation != "" {
			line += v.Invocation + ": "
		}
		line += v.Message
		if i == 0 {
			f.Message, f.Type = line, v.Checker
		}
		fmt.Fprintf(&b, "  %s\n", line)
	}
	fmt.Fprintf(&b, "reproduce: %s\n", rec.Reproduce)
	f.Text = b.String()
	return f
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// writeJUnit writes the report as an XML document.
func writeJUnit(w io.Writer, suites junitTestSuites) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(suites); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
