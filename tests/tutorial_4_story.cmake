# Series 4 as one story: every step starts from the previous step's state (tutorials/*/story.h).
